package ledger_test

import (
	"context"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// TestSettledRunIsTheRunThatPaid: a row paid in run 1 and held again by run
// 2's sheet reads, in both runs, as settled by run 1; a row run 2 pays reads
// as settled by run 2; an unsettled row by none.
func TestSettledRunIsTheRunThatPaid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		r1 := beginRun(t, l)
		upsert(t, l, r1.ID, input("A", 2, "10.00"), input("B", 3, "20.00"))
		walk(t, l, "A", ledger.StatePaid)
		r2 := beginRun(t, l)
		upsert(t, l, r2.ID, input("A", 2, "10.00"), input("B", 3, "20.00"), input("C", 4, "30.00"))
		walk(t, l, "B", ledger.StatePaid)
		want := map[int64]map[string]int64{r1.ID: {"A": r1.ID, "B": r2.ID}, r2.ID: {"A": r1.ID, "B": r2.ID, "C": 0}}
		for run, ids := range want {
			for row, err := range l.Rows(ctx, ledger.RowFilter{RunID: run}) {
				if err != nil {
					t.Fatal(err)
				}
				if got := row.SettledRunID; got != ids[row.ID] {
					t.Errorf("run %d, row %s: settled by run %d, want %d", run, row.ID, got, ids[row.ID])
				}
			}
		}
		if got, err := l.SettledRun(ctx, "A"); err != nil || got != r1.ID {
			t.Errorf("SettledRun(A) = %d, %v; want %d", got, err, r1.ID)
		}
	})
}
