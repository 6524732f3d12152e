package main

import (
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

// allPaid reports whether every row ended paid, loaded or scheduled.
func allPaid(counts map[ledger.State]int) bool {
	for s, n := range counts {
		if n == 0 {
			continue
		}
		switch s {
		case ledger.StatePaid, ledger.StateLoaded, ledger.StateScheduled:
		default:
			return false
		}
	}
	return true
}

func decimalsFor(cur string) int32 {
	if c, ok := sheet.LookupCurrency(cur); ok {
		return c.Decimals
	}
	return 2
}

// resultsFormat picks the results format from --format, else --out's
// extension, else xlsx.
func resultsFormat(flagVal, out string) (ingest.Format, error) {
	v := flagVal
	if v == "" && out != "" {
		if ext := strings.ToLower(filepath.Ext(out)); ext == ".csv" || ext == ".xlsx" {
			v = ext
		}
	}
	f, err := results.ParseResultsFormat(v)
	if err != nil {
		return f, &UsageError{Err: err, Hint: "--format xlsx"}
	}
	return f, nil
}
