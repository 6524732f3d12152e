package ledger

import (
	"context"
	"fmt"
)

// LoadKey is the Idempotency-Key of the row's current wallet load: "<id>",
// then "<id>#2"... after each retry of a refused load. The client_load_id
// stays the id, so MassPay itself refuses a second load of the same row.
func (r Row) LoadKey() string { return PayoutKey(r.ID, r.QuoteSeq) }

// RetryNeedsAction moves run runID's NEEDS_ACTION rows back to new so the
// run tries them again (a lifted compliance hold, added funds, details
// stored in the dashboard). Every way into NEEDS_ACTION but one is a
// definite refusal, so nothing of these rows was paid; the exception, a row
// stopped on an internal error (Row.InternalError), is left alone. Each retry moves the key
// sequence on, because MassPay may keep answering a refused key with its
// refusal. It returns how many rows it moved.
func (l *Ledger) RetryNeedsAction(ctx context.Context, runID int64) (int, error) {
	var rows []Row
	for r, err := range l.Rows(ctx, RowFilter{RunID: runID, States: []State{StateNeedsAction}}) {
		if err != nil {
			return 0, fmt.Errorf("list rows needing action: %w", err)
		}
		rows = append(rows, r)
	}
	empty := ""
	n := 0
	for _, r := range rows {
		if r.InternalError != "" {
			// Stopped on an internal error: its money may have moved, so
			// only a person may decide (see Row.InternalError).
			continue
		}
		seq := r.QuoteSeq + 1
		_, err := l.Transition(ctx, r.ID, StateNeedsAction, StateNew, RowUpdate{
			QuoteSeq: &seq, ActionNeeded: &empty, LastError: &empty, KYCUploadLink: &empty,
		}, Event{RunID: runID, Kind: EventRetry, Message: "retried: was " + r.LastError})
		if err != nil {
			return n, fmt.Errorf("retry row %s: %w", r.ID, err)
		}
		n++
	}
	return n, nil
}
