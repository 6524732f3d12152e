// Package resultsnote records in the ledger where a run's results file
// lies, and reads it back. payrun report writes there by default, so a
// results file regenerated after a crash replaces the one finance already
// knows (the run's --out, where the inbox filed it, or the console's
// results folder) instead of appearing next to the original sheet, which
// for the inbox is its incoming folder and for the console its uploads.
//
// payrun run, the inbox and the console all record through Record: one
// shape of note, whoever started the run.
package resultsnote

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/payrun/payrun/ledger"
)

// note is the Data of the run event that records where the results lie.
type note struct {
	Results string `json:"results"`
}

// Record notes in the ledger that run runID's results are at path (made
// absolute: report may run from another directory). The latest note wins:
// the inbox records the results again once it has filed them.
func Record(ctx context.Context, l *ledger.Ledger, runID int64, path string) error {
	p := path
	if abs, err := filepath.Abs(path); err == nil {
		p = abs
	}
	data, err := json.Marshal(note{Results: p})
	if err != nil {
		return fmt.Errorf("record results path: %w", err)
	}
	if _, err := l.AppendEvent(context.WithoutCancel(ctx), ledger.Event{Kind: ledger.EventRun, RunID: runID,
		Message: "results written to " + p, Data: data}); err != nil {
		return fmt.Errorf("record results path: %w", err)
	}
	return nil
}

// Recorded returns where run runID's results were last recorded, or "" for
// a run that recorded none (one from an older payrun).
func Recorded(ctx context.Context, l *ledger.Ledger, runID int64) (string, error) {
	path := ""
	for ev, err := range l.Events(ctx, ledger.EventFilter{RunID: runID, Kind: ledger.EventRun}) {
		if err != nil {
			return "", fmt.Errorf("read run events: %w", err)
		}
		var n note
		if len(ev.Data) > 0 && json.Unmarshal(ev.Data, &n) == nil && n.Results != "" {
			path = n.Results
		}
	}
	return path, nil
}
