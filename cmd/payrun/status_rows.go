package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// pendingShown is how many unfinished rows payrun status names one by one:
// an interrupted 10,000-row run needs one instruction, not 10,000 lines.
const pendingShown = 20

// printRowsToAct lists every row of run runID that keeps payrun status from
// exiting 0, with what to do about it: rows that need a person or failed,
// INVALID rows (--skip-invalid), CONFLICT rows (an id the ledger already
// holds with other content, and rows MassPay holds other money under), and
// rows an interrupted run left unfinished. A status that exits 1 always
// says why.
func printRowsToAct(ctx context.Context, w io.Writer, l *ledger.Ledger, runID int64) error {
	var act, pending []ledger.Row
	for r, err := range l.Rows(ctx, ledger.RowFilter{RunID: runID}) {
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
		switch {
		case r.State == ledger.StatePaid || r.State == ledger.StateLoaded || r.State == ledger.StateScheduled:
		case r.State.Final():
			act = append(act, r)
		default:
			pending = append(pending, r)
		}
	}
	var conflicts []ledger.Conflict
	for c, err := range l.Conflicts(ctx, runID) {
		if err != nil {
			return fmt.Errorf("read conflicts: %w", err)
		}
		conflicts = append(conflicts, c)
	}
	if len(act)+len(conflicts)+len(pending) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nRows that need a person:")
	for _, r := range act {
		reason := firstNonEmpty(r.LastError, r.ActionNeeded, string(r.State))
		if r.KYCUploadLink != "" {
			// MassPay's refusal carries the link; it gets a line of its own
			// below, so the reason points there instead of repeating it.
			reason = strings.ReplaceAll(reason, r.KYCUploadLink, "see the document-upload link below")
		}
		fmt.Fprintf(w, "  row %d %s [%s]: %s\n", r.Line, r.ID, r.State, reason)
		next := r.ActionNeeded
		switch r.State {
		case ledger.StateInvalid:
			next = "fix that cell in the sheet and run it again: the corrected row replaces this one"
		case ledger.StateConflict:
			next = firstNonEmpty(next, "nothing was paid for this row; ask MassPay's support which payment holds the id before paying it under a new client_transfer_id")
		case ledger.StateFailed:
			// The results' action_needed says the same: a re-run
			// leaves a FAILED row as it is.
			next = firstNonEmpty(next, results.ActionFailed)
		case ledger.StateNeedsAction:
			if r.KYCUploadLink != "" {
				next = firstNonEmpty(next, results.ActionKYC)
			}
			next = firstNonEmpty(next, results.ActionFixAndRerun)
		}
		if next != "" && next != r.LastError {
			fmt.Fprintf(w, "      next: %s\n", next)
		}
		if r.KYCUploadLink != "" {
			fmt.Fprintf(w, "      document-upload link: %s\n", r.KYCUploadLink)
		}
	}
	for _, c := range conflicts {
		fmt.Fprintf(w, "  row %d %s [CONFLICT]: client_transfer_id already in the ledger with different content (%s, from run %d); not paid\n",
			c.Line, c.ID, c.ExistingState, c.ExistingRunID)
		fmt.Fprintf(w, "      next: a new payment needs a new client_transfer_id; a correction of run %d's row must not be paid again (payrun status --run %d)\n",
			c.ExistingRunID, c.ExistingRunID)
	}
	for i, r := range pending {
		if i == pendingShown {
			fmt.Fprintf(w, "  ... and %s more unfinished\n", plural.Count(len(pending)-i, "row"))
			break
		}
		fmt.Fprintf(w, "  row %d %s [%s]: unfinished (the run stopped before it settled)\n", r.Line, r.ID, r.State)
	}
	if len(pending) > 0 {
		fmt.Fprintf(w, "      next: run the same sheet again to finish %s: none is paid twice\n", plural.Count(len(pending), "row"))
	}
	return nil
}
