package ledger_test

import (
	"context"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// A row that needed a person goes back to new on retry, under the next key,
// with its old reason cleared; paid rows are not touched.
func TestRetryNeedsAction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		upsert(t, l, run.ID, input("held", 2, "10.00"), input("paid", 3, "20.00"))
		held := walk(t, l, "held", ledger.StateInitiating)
		why, link := "compliance hold", "https://x.example/kyc/1"
		if _, err := l.Transition(ctx, "held", held.State, ledger.StateNeedsAction,
			ledger.RowUpdate{LastError: &why, ActionNeeded: &why, KYCUploadLink: &link}, ledger.Event{}); err != nil {
			t.Fatal(err)
		}
		walk(t, l, "paid", ledger.StatePaid)

		n, err := l.RetryNeedsAction(ctx, run.ID)
		if err != nil || n != 1 {
			t.Fatalf("RetryNeedsAction = %d, %v; want 1 row", n, err)
		}
		r, _ := l.Row(ctx, "held")
		if r.State != ledger.StateNew || r.QuoteSeq != 2 || r.LastError != "" || r.KYCUploadLink != "" || r.ActionNeeded != "" {
			t.Fatalf("retried row = %s seq %d err %q link %q action %q", r.State, r.QuoteSeq, r.LastError, r.KYCUploadLink, r.ActionNeeded)
		}
		if r.PayoutKey() != "held#2" || r.LoadKey() != "held#2" {
			t.Fatalf("keys after retry = %s, %s; want held#2", r.PayoutKey(), r.LoadKey())
		}
		if p, _ := l.Row(ctx, "paid"); p.State != ledger.StatePaid {
			t.Fatalf("paid row moved to %s", p.State)
		}
		if n, _ := l.RetryNeedsAction(ctx, run.ID); n != 0 {
			t.Fatalf("second retry moved %d rows", n)
		}
	})
}

// A corrected sheet row replaces a NEEDS_ACTION row (nothing was paid)
// instead of conflicting with it, and moves its key sequence on; a paid
// row with changed content still conflicts.
func TestCorrectedRowReplacesNeedsAction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		upsert(t, l, run.ID, input("fixme", 2, "10.00"), input("done", 3, "20.00"))
		walk(t, l, "fixme", ledger.StateNeedsAction)
		walk(t, l, "done", ledger.StatePaid)

		run2 := beginRun(t, l)
		res := upsert(t, l, run2.ID, input("fixme", 2, "10.50"), input("done", 3, "21.00"))
		if res.Rows[0].Outcome != ledger.OutcomeReplaced || res.Rows[0].State != ledger.StateNew {
			t.Fatalf("needs-action row: %s %s; want replaced, new", res.Rows[0].Outcome, res.Rows[0].State)
		}
		if res.Rows[1].Outcome != ledger.OutcomeConflict {
			t.Fatalf("paid row with new content: %s; want conflict", res.Rows[1].Outcome)
		}
		r, _ := l.Row(ctx, "fixme")
		if r.QuoteSeq != 2 || r.Amount.String() != "10.5" {
			t.Fatalf("replaced row seq %d amount %s", r.QuoteSeq, r.Amount)
		}
	})
}
