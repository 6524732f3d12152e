package ledger_test

import (
	"context"
	"testing"
)

// TestPutRunSummaryKeepsOnlyRunsThatCannotChange: a summary is kept for a
// finished run whose rows are all settled or FAILED, never for a running
// run or one with a row a retry or a corrected sheet could still move.
func TestPutRunSummaryKeepsOnlyRunsThatCannotChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		r1 := runOf(t, l, "")
		upsert(t, l, r1.ID, input("A", 2, "10.00"), input("B", 3, "2.00"))
		walk(t, l, "A", "PAID")
		walk(t, l, "B", "FAILED")
		if kept, err := l.PutRunSummary(ctx, r1.ID, `{"Total":2}`); err != nil || kept {
			t.Errorf("summary of a running run kept = %v, %v", kept, err)
		}
		finish(t, l, r1.ID)
		if kept, err := l.PutRunSummary(ctx, r1.ID, `{"Total":2}`); err != nil || !kept {
			t.Errorf("summary of a finished settled run kept = %v, %v; want kept", kept, err)
		}
		if data, ok, err := l.RunSummary(ctx, r1.ID); err != nil || !ok || data != `{"Total":2}` {
			t.Errorf("RunSummary = %q, %v, %v", data, ok, err)
		}
		r2 := runOf(t, l, "")
		upsert(t, l, r2.ID, input("C", 2, "1.00"))
		walk(t, l, "C", "NEEDS_ACTION")
		finish(t, l, r2.ID)
		if kept, _ := l.PutRunSummary(ctx, r2.ID, `{}`); kept {
			t.Error("summary of a run with a NEEDS_ACTION row was kept")
		}
		if _, ok, _ := l.RunSummary(ctx, r2.ID); ok {
			t.Error("RunSummary found a summary never kept")
		}
	})
}
