package results

import (
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
)

// DefaultResultsPath is where a run's results go by default: next to the
// sheet, named <sheet>.results.xlsx (or .csv). march.xlsx gives
// march.results.xlsx, so the input sheet is never overwritten.
func DefaultResultsPath(sheetPath string, format ingest.Format) string {
	if format == "" {
		format = ingest.FormatXLSX
	}
	dir, base := filepath.Split(sheetPath)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	if stem == "" {
		stem = "payrun"
	}
	return filepath.Join(dir, stem+".results."+string(format))
}

// SummaryCSVPath is the summary CSV written beside a results CSV:
// march.results.csv gives march.summary.csv, results.csv gives summary.csv.
func SummaryCSVPath(resultsPath string) string {
	return siblingCSVPath(resultsPath, "summary")
}

// FlipsCSVPath is the flips CSV written beside a results CSV.
func FlipsCSVPath(resultsPath string) string {
	return siblingCSVPath(resultsPath, "flips")
}

func siblingCSVPath(resultsPath, name string) string {
	dir, base := filepath.Split(resultsPath)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	switch {
	case strings.EqualFold(stem, "results"):
		stem = ""
	case strings.HasSuffix(strings.ToLower(stem), ".results"):
		stem = stem[:len(stem)-len(".results")]
	}
	if stem == "" {
		return filepath.Join(dir, name+".csv")
	}
	return filepath.Join(dir, stem+"."+name+".csv")
}

// samePath reports whether a and b name the same file, by absolute path (or
// by identity when both exist, so a symlink cannot fool it).
func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == bb {
		return true
	}
	return SameFile(a, b)
}
