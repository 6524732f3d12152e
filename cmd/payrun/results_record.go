package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/cmd/payrun/internal/resultsnote"
	"github.com/payrun/payrun/ledger"
)

// recordResults notes in the ledger that run runID's results are at path;
// payrun report writes there by default (see resultsnote).
func recordResults(ctx context.Context, l *ledger.Ledger, runID int64, path string) error {
	return resultsnote.Record(ctx, l, runID, path)
}

// reportDefaultPath is where payrun report writes without --out, and in
// which format: the run's recorded results path, in its format, or with
// the extension of the one --format (formatFlag) asks for; for a run that
// recorded none, the default beside the run's sheet.
func reportDefaultPath(ctx context.Context, l *ledger.Ledger, run ledger.Run, formatFlag string) (string, ingest.Format, error) {
	p, err := resultsnote.Recorded(ctx, l, run.ID)
	if err != nil {
		return "", "", err
	}
	if p != "" && formatFlag == "" {
		formatFlag = filepath.Ext(p)
	}
	format, err := results.ParseResultsFormat(formatFlag)
	if err != nil {
		return "", "", &UsageError{Err: err, Hint: "payrun report --format csv"}
	}
	if p == "" && strings.HasSuffix(run.Operator, " (console)") && filepath.Base(run.SheetName) == run.SheetName {
		// A console run from before runs recorded their results: its
		// sheet is a bare upload name, so "beside the sheet" is the
		// working directory. The console's own results folder, under
		// serve's default data directory, is where finance looks.
		dir := filepath.Join(ledgerSibling(l.Path(), ".console"), "results")
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			p = filepath.Join(dir, fmt.Sprintf("run-%d.results.%s", run.ID, format))
		}
	}
	if p == "" {
		return results.DefaultResultsPath(run.SheetName, format), format, nil
	}
	if ext, want := filepath.Ext(p), "."+string(format); !strings.EqualFold(ext, want) {
		p = strings.TrimSuffix(p, ext) + want
	}
	return p, format, nil
}
