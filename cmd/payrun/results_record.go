package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
)

// resultsNote is the Data of the run event that records where a run's
// results file lies: payrun report writes there by default, so a results
// file regenerated after a crash replaces the one finance already knows
// (the run's --out, or where the inbox filed it) instead of appearing next
// to the original sheet, which for the inbox is its incoming folder.
type resultsNote struct {
	Results string `json:"results"`
}

// recordResults notes in the ledger that run runID's results are at path
// (made absolute: report may run from another directory). The latest note
// wins: the inbox records the results again once it has filed them.
func recordResults(ctx context.Context, l *ledger.Ledger, runID int64, path string) error {
	p := absPath(path)
	data, err := json.Marshal(resultsNote{Results: p})
	if err != nil {
		return fmt.Errorf("record results path: %w", err)
	}
	if _, err := l.AppendEvent(context.WithoutCancel(ctx), ledger.Event{Kind: ledger.EventRun, RunID: runID,
		Message: "results written to " + p, Data: data}); err != nil {
		return fmt.Errorf("record results path: %w", err)
	}
	return nil
}

// recordedResults returns where run runID's results were last recorded, or
// "" for a run that recorded none (an older payrun, the console).
func recordedResults(ctx context.Context, l *ledger.Ledger, runID int64) (string, error) {
	path := ""
	for ev, err := range l.Events(ctx, ledger.EventFilter{RunID: runID, Kind: ledger.EventRun}) {
		if err != nil {
			return "", fmt.Errorf("read run events: %w", err)
		}
		var n resultsNote
		if len(ev.Data) > 0 && json.Unmarshal(ev.Data, &n) == nil && n.Results != "" {
			path = n.Results
		}
	}
	return path, nil
}

// reportDefaultPath is where payrun report writes without --out, and in
// which format: the run's recorded results path, in its format, or with
// the extension of the one --format (formatFlag) asks for; for a run that
// recorded none, the default beside the run's sheet.
func reportDefaultPath(ctx context.Context, l *ledger.Ledger, run ledger.Run, formatFlag string) (string, ingest.Format, error) {
	p, err := recordedResults(ctx, l, run.ID)
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
	if p == "" {
		return results.DefaultResultsPath(run.SheetName, format), format, nil
	}
	if ext, want := filepath.Ext(p), "."+string(format); !strings.EqualFold(ext, want) {
		p = strings.TrimSuffix(p, ext) + want
	}
	return p, format, nil
}
