package ledger_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
)

// runOf begins a run of the sheet with ingest key key.
func runOf(t *testing.T, l *ledger.Ledger, key string) ledger.Run {
	t.Helper()
	run, err := l.BeginRun(context.Background(), ledger.RunInfo{SheetName: "s.csv", SheetSHA256: "x", IngestKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func finish(t *testing.T, l *ledger.Ledger, runID int64) {
	t.Helper()
	if _, err := l.FinishRun(context.Background(), runID, ledger.RunFinish{Status: ledger.RunFinished}); err != nil {
		t.Fatal(err)
	}
}

// TestCopySettledRun: a re-run of a settled sheet takes the rows over, as
// UpsertRows would have left them, and every case where reading the sheet
// again could change something falls back to it.
func TestCopySettledRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		r1 := runOf(t, l, "k1")
		upsert(t, l, r1.ID, input("A", 2, "10.00"), input("B", 3, "20.00"))
		walk(t, l, "A", ledger.StatePaid)
		walk(t, l, "B", ledger.StateLoaded)

		// Not finished yet: its sheet may not have been read in full.
		r2 := runOf(t, l, "k1")
		if from, err := l.CopySettledRun(ctx, r2.ID); err != nil || from != 0 {
			t.Fatalf("copy from an unfinished run = %d, %v; want 0", from, err)
		}
		finish(t, l, r1.ID)
		r3 := runOf(t, l, "k1")
		from, copied, err := l.CopySettledRunCounted(ctx, r3.ID)
		if err != nil || from != r1.ID {
			t.Fatalf("copy = %d, %v; want run %d", from, err, r1.ID)
		}
		// The copy's counts are what counting run r3 gives.
		if counts, err := l.Counts(ctx, r3.ID); err != nil || !maps.Equal(counts, copied) {
			t.Errorf("copy counted %v; Counts of run %d = %v, %v", copied, r3.ID, counts, err)
		}
		var ids []string
		for r, err := range l.Rows(ctx, ledger.RowFilter{RunID: r3.ID}) {
			if err != nil {
				t.Fatal(err)
			}
			// rows is not rewritten: the row stays the run that read and
			// settled it.
			if r.LastRunID != r1.ID || r.SettledRunID != r1.ID {
				t.Errorf("row %s: last run %d, settled by %d; want both run %d", r.ID, r.LastRunID, r.SettledRunID, r1.ID)
			}
			ids = append(ids, r.ID)
		}
		if len(ids) != 2 || ids[0] != "A" || ids[1] != "B" {
			t.Errorf("run %d's rows = %v, want [A B]", r3.ID, ids)
		}
		if got, _ := l.Run(ctx, r3.ID); got.RowCount != 2 {
			t.Errorf("run %d row count = %d, want 2", r3.ID, got.RowCount)
		}
		// Copying twice, or into a run that already has rows, does nothing.
		if from, err := l.CopySettledRun(ctx, r3.ID); err != nil || from != 0 {
			t.Errorf("second copy = %d, %v; want 0", from, err)
		}
		finish(t, l, r3.ID)
		// Later news of a taken-over payment is recorded under the run that
		// read and paid it.
		if _, err := l.UpdateStatus(ctx, "A", "CANCELLED", time.Now(), ledger.Event{}); err != nil {
			t.Fatal(err)
		}
		var statusRun int64
		for ev, err := range l.Events(ctx, ledger.EventFilter{TransferID: "A"}) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == ledger.EventStatus {
				statusRun = ev.RunID
			}
		}
		if statusRun != r1.ID {
			t.Errorf("status news of row A recorded under run %d, want run %d", statusRun, r1.ID)
		}

		// Another sheet, or a run without a key, never copies.
		if from, _ := l.CopySettledRun(ctx, runOf(t, l, "other").ID); from != 0 {
			t.Errorf("copy across sheets = %d, want 0", from)
		}
		if from, _ := l.CopySettledRun(ctx, runOf(t, l, "").ID); from != 0 {
			t.Errorf("copy without a key = %d, want 0", from)
		}

		// A row left to work (here, C in new) needs the sheet read again.
		r4 := runOf(t, l, "k2")
		upsert(t, l, r4.ID, input("C", 2, "5.00"))
		finish(t, l, r4.ID)
		if from, _ := l.CopySettledRun(ctx, runOf(t, l, "k2").ID); from != 0 {
			t.Errorf("copy of a run with a row in new = %d, want 0", from)
		}

		// A row a later, different sheet took over (its line and cells are that
		// sheet's now) needs the sheet read again too.
		r5 := runOf(t, l, "k3")
		upsert(t, l, r5.ID, input("A", 7, "10.00"))
		finish(t, l, r5.ID)
		if from, _ := l.CopySettledRun(ctx, runOf(t, l, "k1").ID); from != 0 {
			t.Errorf("copy after another sheet took row A = %d, want 0", from)
		}
	})
}
