package results

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/batch/ingest"
)

// Results, plan and other workbooks hold names, e-mails, bank details and
// KYC links: they are written 0600 like the ledger, whatever the umask,
// unless the caller asks for another mode (--results-mode).
func TestResultsAndPlanFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	for _, format := range []ingest.Format{ingest.FormatXLSX, ingest.FormatCSV} {
		p := filepath.Join(dir, "r."+string(format))
		sum, err := WriteResultsFrom(context.Background(), injectionSource(), p, ResultsOptions{Format: format})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{sum.Path, sum.SummaryPath} {
			if f != "" && mode(f) != 0o600 {
				t.Errorf("%s: mode %v, want 0600", filepath.Base(f), mode(f))
			}
		}
	}
	p := filepath.Join(dir, "shared.xlsx")
	if _, err := WriteResultsFrom(context.Background(), injectionSource(), p, ResultsOptions{Mode: 0o640}); err != nil {
		t.Fatal(err)
	}
	if mode(p) != 0o640 {
		t.Errorf("results with Mode 0640: mode %v", mode(p))
	}
	plan := filepath.Join(dir, "sheet.plan.xlsx")
	if err := WritePlan(plan, &Plan{}); err != nil {
		t.Fatal(err)
	}
	if mode(plan) != 0o600 {
		t.Errorf("plan: mode %v, want 0600", mode(plan))
	}
}
