package results

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/batch/ingest"
)

// TestWriteResultsNeverOverwritesSheet: the results path may not be the
// input sheet, and a failed write leaves the previous results in place.
func TestWriteResultsNeverOverwritesSheet(t *testing.T) {
	ctx := context.Background()
	l, runID, sheet := buildFixtureLedger(t)
	if err := os.WriteFile(sheet, []byte("the input"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteResults(ctx, l, runID, sheet, ResultsOptions{}); !errors.Is(err, ErrOverwriteSheet) {
		t.Fatalf("err %v, want ErrOverwriteSheet", err)
	}
	if b, _ := os.ReadFile(sheet); string(b) != "the input" {
		t.Fatal("input sheet changed")
	}

	out := filepath.Join(filepath.Dir(sheet), "keep.results.xlsx")
	if err := os.WriteFile(out, []byte("previous results"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := &failingSource{ResultsSource: &ledgerResults{l: l, runID: runID}, after: 3}
	if _, err := WriteResultsFrom(ctx, src, out, ResultsOptions{}); err == nil {
		t.Fatal("write with a failing source succeeded")
	}
	if b, _ := os.ReadFile(out); string(b) != "previous results" {
		t.Fatal("a failed write replaced the previous results")
	}
	assertNoTempFiles(t, filepath.Dir(out))
}

func TestResultsPaths(t *testing.T) {
	for _, c := range []struct{ in, xlsx, csv, summary string }{
		{"/m/march.xlsx", "/m/march.results.xlsx", "/m/march.results.csv", "/m/march.summary.csv"},
		{"payouts.csv", "payouts.results.xlsx", "payouts.results.csv", "payouts.summary.csv"},
	} {
		if got := DefaultResultsPath(c.in, ingest.FormatXLSX); got != c.xlsx {
			t.Errorf("xlsx %s", got)
		}
		if got := DefaultResultsPath(c.in, ingest.FormatCSV); got != c.csv {
			t.Errorf("csv %s", got)
		}
		if got := SummaryCSVPath(c.csv); got != c.summary {
			t.Errorf("summary %s", got)
		}
	}
	if got := SummaryCSVPath("/x/results.csv"); got != "/x/summary.csv" {
		t.Errorf("summary of results.csv: %s", got)
	}
	if _, err := ParseResultsFormat("pdf"); !errors.Is(err, ErrResultsFormat) {
		t.Errorf("pdf accepted: %v", err)
	}
}
