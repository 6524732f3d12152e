package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// stableStates are the states no later run, sheet or retry can move a row
// out of: a corrected sheet replaces an INVALID row, a retry takes up a
// NEEDS_ACTION one, but these stay as they are.
const stableStates = `('PAID', 'LOADED', 'SCHEDULED', 'FAILED')`

// RunSummary returns the summary of run runID that PutRunSummary kept, and
// whether there is one.
func (l *Ledger) RunSummary(ctx context.Context, runID int64) (string, bool, error) {
	var data string
	err := l.rqRow(ctx, `SELECT data FROM run_summaries WHERE run_id = ?`, runID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read summary of run %d: %w", runID, err)
	}
	return data, true, nil
}

// PutRunSummary keeps data, a reader's summary of run runID computed from
// its rows, when nothing can change it any more: the run finished and every
// row of its sheet is PAID, LOADED, SCHEDULED or FAILED (so its state, its
// amounts and the run that settled it are fixed). It reports whether it
// kept it; a run that may still change is not kept, and is summarised from
// its rows each time.
func (l *Ledger) PutRunSummary(ctx context.Context, runID int64, data string) (bool, error) {
	kept := false
	err := l.write(ctx, false, func(tx *wtx) error {
		var stable bool // EXISTS is 0/1 on SQLite, a boolean on PostgreSQL
		err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM runs WHERE id = ? AND status = 'finished')
			AND NOT EXISTS (SELECT 1 FROM run_rows m CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
				WHERE m.run_id = ? AND r.state NOT IN `+stableStates+`)`, runID, runID).Scan(&stable)
		if err != nil || !stable {
			return err
		}
		if _, err := tx.exec(`INSERT OR REPLACE INTO run_summaries (run_id, data, updated_at) VALUES (?, ?, ?)`,
			runID, data, formatTime(l.now())); err != nil {
			return err
		}
		kept = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("keep summary of run %d: %w", runID, err)
	}
	return kept, nil
}
