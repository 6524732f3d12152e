package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/payrun/payrun/ledger"
)

func TestUpsertSameFingerprintKeepsState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run1 := beginRun(t, l)
		upsert(t, l, run1.ID, input("a", 2, "10.00"), input("b", 3, "20.00"))
		walk(t, l, "a", ledger.StatePaid)

		run2 := beginRun(t, l)
		moved := input("a", 7, "10.00")
		moved.Input[2].Value = "echo column changed" // not part of the fingerprint
		res := upsert(t, l, run2.ID, moved)
		if res.Existing != 1 || res.Rows[0].Outcome != ledger.OutcomeExisting || res.Rows[0].State != ledger.StatePaid {
			t.Fatalf("result = %+v", res)
		}
		row, _ := l.Row(ctx, "a")
		if row.State != ledger.StatePaid || row.FirstRunID != run1.ID || row.LastRunID != run2.ID ||
			row.Line != 7 || row.Input[2].Value != "echo column changed" {
			t.Errorf("row = %+v", row)
		}
		if r, _ := l.Run(ctx, run2.ID); r.RowCount != 1 {
			t.Errorf("run2 row_count = %d", r.RowCount)
		}
	})
}

func TestUpsertConflictNeverTouchesExistingRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run1 := beginRun(t, l)
		upsert(t, l, run1.ID, input("a", 2, "10.00"))
		walk(t, l, "a", ledger.StateInitiated)
		before, _ := l.Row(ctx, "a")

		run2 := beginRun(t, l)
		changed := input("a", 5, "99.00")
		res := upsert(t, l, run2.ID, changed, input("c", 6, "1.00"))
		if res.Conflicts != 1 || res.Inserted != 1 {
			t.Fatalf("result = %+v", res)
		}
		c := res.Rows[0].Conflict
		if res.Rows[0].Outcome != ledger.OutcomeConflict || res.Rows[0].State != ledger.StateConflict || c == nil ||
			c.Fingerprint != changed.Fingerprint || c.ExistingFingerprint != before.Fingerprint ||
			c.ExistingState != ledger.StateInitiated || c.ExistingRunID != run1.ID {
			t.Fatalf("upserted = %+v, conflict %+v", res.Rows[0], c)
		}
		after, _ := l.Row(ctx, "a")
		if after.Fingerprint != before.Fingerprint || after.State != before.State || after.LastRunID != run1.ID ||
			!after.Amount.Equal(before.Amount) || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("existing row touched: before %+v after %+v", before, after)
		}
		var got []ledger.Conflict
		for c, err := range l.Conflicts(ctx, run2.ID) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		}
		if len(got) != 1 || got[0].Line != 5 || got[0].Amount.String() != "99" || got[0].Input[1].Value != "99.00" {
			t.Errorf("Conflicts = %+v", got)
		}
		counts, _ := l.Counts(ctx, run2.ID)
		if counts[ledger.StateConflict] != 1 || counts[ledger.StateNew] != 1 {
			t.Errorf("Counts(run2) = %v", counts)
		}
		n := 0
		for ev := range l.Events(ctx, ledger.EventFilter{TransferID: "a", Kind: ledger.EventConflict}) {
			n++
			if ev.RunID != run2.ID {
				t.Errorf("conflict event = %+v", ev)
			}
		}
		if n != 1 {
			t.Errorf("%d conflict events", n)
		}
		// The same changed sheet again is still a conflict, never a payment.
		if res := upsert(t, l, beginRun(t, l).ID, changed); res.Conflicts != 1 {
			t.Errorf("second attempt: %+v", res)
		}
	})
}

func TestUpsertInvalidRowsAndReplacement(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run1 := beginRun(t, l)
		bad := input("a", 2, "10.00")
		bad.Invalid = "line 2: amount has 3 decimals for USD"
		res := upsert(t, l, run1.ID, bad)
		if res.Rows[0].State != ledger.StateInvalid {
			t.Fatalf("result = %+v", res)
		}
		row, _ := l.Row(ctx, "a")
		if row.State != ledger.StateInvalid || row.LastError != bad.Invalid {
			t.Errorf("row = %+v", row)
		}
		run2 := beginRun(t, l)
		fixed := input("a", 2, "10.50")
		res = upsert(t, l, run2.ID, fixed)
		if res.Replaced != 1 || res.Rows[0].State != ledger.StateNew {
			t.Fatalf("result = %+v", res)
		}
		row, _ = l.Row(ctx, "a")
		if row.State != ledger.StateNew || row.Fingerprint != fixed.Fingerprint || row.LastError != "" || row.Amount.String() != "10.5" {
			t.Errorf("replaced row = %+v", row)
		}
	})
}

func TestUpsertRejectsBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		if _, err := l.UpsertRows(ctx, run.ID, []ledger.RowInput{{ID: "", Fingerprint: "x"}}); err == nil {
			t.Error("empty id accepted")
		}
		if _, err := l.UpsertRows(ctx, run.ID, []ledger.RowInput{{ID: "a"}}); err == nil {
			t.Error("empty fingerprint accepted")
		}
		if _, err := l.UpsertRows(ctx, 999, []ledger.RowInput{input("a", 2, "1")}); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("unknown run = %v, want ErrNotFound", err)
		}
	})
}

func TestRowsToWorkInSheetOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		// More than one page, inserted out of sheet order, two rows on one line.
		const n = 1200
		var in []ledger.RowInput
		for i := n - 1; i >= 0; i-- {
			in = append(in, input(fmt.Sprintf("r%04d", i), 2+i/2, "1.00"))
		}
		upsert(t, l, run.ID, in...)
		walk(t, l, "r0003", ledger.StatePaid)
		walk(t, l, "r0004", ledger.StateCommitting)
		walk(t, l, "r1100", ledger.StateNeedsAction)
		var ids []string
		for r, err := range l.RowsToWork(ctx, run.ID) {
			if err != nil {
				t.Fatal(err)
			}
			if r.State.Final() {
				t.Fatalf("final row %s to work", r.ID)
			}
			ids = append(ids, r.ID)
		}
		if len(ids) != n-2 || ids[0] != "r0000" || ids[1] != "r0001" || ids[2] != "r0002" || ids[3] != "r0004" {
			t.Fatalf("RowsToWork: %d rows, first %v", len(ids), ids[:4])
		}
		if !slices.IsSorted(ids) {
			t.Error("RowsToWork not in sheet order")
		}
		paid := 0
		for r, err := range l.Rows(ctx, ledger.RowFilter{States: []ledger.State{ledger.StatePaid, ledger.StateNeedsAction}}) {
			if err != nil {
				t.Fatal(err)
			}
			paid++
			_ = r
		}
		if paid != 2 {
			t.Errorf("Rows(PAID, NEEDS_ACTION) = %d", paid)
		}
		// Breaking out of the loop early is fine.
		for range l.Rows(ctx, ledger.RowFilter{RunID: run.ID}) {
			break
		}
		counts, _ := l.Counts(ctx, 0)
		if counts[ledger.StateNew] != n-3 || counts[ledger.StatePaid] != 1 || counts[ledger.StateCommitting] != 1 {
			t.Errorf("Counts = %v", counts)
		}
		if r, _ := l.Run(ctx, run.ID); r.RowCount != n {
			t.Errorf("row_count = %d", r.RowCount)
		}
	})
}
