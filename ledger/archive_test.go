package ledger_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
)

// runAt begins a run started at t.
func runAt(t *testing.T, l *ledger.Ledger, at time.Time) ledger.Run {
	t.Helper()
	run, err := l.BeginRun(context.Background(), ledger.RunInfo{SheetName: "s.csv", SheetSHA256: "x", StartedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// archiveFixture: run 1 (January, settled) can move; run 2 (January) holds a
// row needing a person; run 3 (January) shares a row with run 4 (June).
func archiveFixture(t *testing.T) (*ledger.Ledger, string) {
	l, path := openTemp(t)
	jan, jun := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC), time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC)
	r1 := runAt(t, l, jan)
	upsert(t, l, r1.ID, input("A", 2, "10.00"), input("B", 3, "20.50"))
	walk(t, l, "A", ledger.StatePaid)
	walk(t, l, "B", ledger.StateLoaded)
	finish(t, l, r1.ID)
	r2 := runAt(t, l, jan)
	upsert(t, l, r2.ID, input("C", 2, "5.00"))
	walk(t, l, "C", ledger.StateNeedsAction)
	finish(t, l, r2.ID)
	r3 := runAt(t, l, jan)
	upsert(t, l, r3.ID, input("D", 2, "7.00"))
	walk(t, l, "D", ledger.StatePaid)
	finish(t, l, r3.ID)
	r4 := runAt(t, l, jun)
	upsert(t, l, r4.ID, input("D", 2, "7.00"), input("E", 3, "1.00"))
	walk(t, l, "E", ledger.StatePaid)
	finish(t, l, r4.ID)
	return l, path
}

// TestArchiveMovesOnlyFinishedSettledRuns: only run 1 moves; it is gone
// from the ledger and whole in the archive (0600); an archived id in a new
// sheet is a conflict.
func TestArchiveMovesOnlyFinishedSettledRuns(t *testing.T) {
	ctx := context.Background()
	l, path := archiveFixture(t)
	arcPath := filepath.Join(filepath.Dir(path), "archive.db")
	res, err := l.Archive(ctx, arcPath, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 1 || res.Runs[0] != 1 || res.Rows != 2 || res.Path != arcPath {
		t.Fatalf("archive = %+v, want run 1 with 2 rows to %s", res, arcPath)
	}
	if fi, err := os.Stat(arcPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("archive file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if _, err := l.Run(ctx, 1); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("run 1 still in the ledger: %v", err)
	}
	if _, err := l.Row(ctx, "A"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("row A still in the ledger: %v", err)
	}
	for _, id := range []int64{2, 3, 4} {
		if _, err := l.Run(ctx, id); err != nil {
			t.Errorf("run %d left the ledger: %v", id, err)
		}
	}
	if p, err := l.ArchiveOf(ctx, 1); err != nil || p != arcPath {
		t.Errorf("ArchiveOf(1) = %q, %v; want %s", p, err, arcPath)
	}

	arc, err := ledger.Open(ctx, arcPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer arc.Close()
	run, err := arc.Run(ctx, 1)
	if err != nil || run.Status != ledger.RunFinished {
		t.Fatalf("archived run 1 = %+v, %v", run, err)
	}
	counts, err := arc.Counts(ctx, 1)
	if err != nil || counts[ledger.StatePaid] != 1 || counts[ledger.StateLoaded] != 1 {
		t.Errorf("archived run 1 counts = %v, %v; want 1 PAID, 1 LOADED", counts, err)
	}
	n := 0
	for ev, err := range arc.Events(ctx, ledger.EventFilter{RunID: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.TransferID == "A" || ev.TransferID == "B" {
			n++
		}
	}
	if n == 0 {
		t.Error("archived run 1 has no row events")
	}

	// A later sheet reusing an archived id is never paid again.
	r5 := runAt(t, l, time.Now())
	res5 := upsert(t, l, r5.ID, input("A", 2, "10.00"))
	if res5.Conflicts != 1 {
		t.Errorf("re-ingest of archived A = %+v, want a conflict", res5)
	}

	// Nothing else can move: a second archive is a no-op.
	if res, err := l.Archive(ctx, arcPath, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)); err != nil || len(res.Runs) != 0 {
		t.Errorf("second archive = %+v, %v; want nothing moved", res, err)
	}
}

// TestArchiveInterruptedAfterCopy: stopped between the copy and the removal,
// the run is in both files and still read from the ledger; the next archive
// finishes the move with nothing counted twice.
func TestArchiveInterruptedAfterCopy(t *testing.T) {
	l, path := archiveFixture(t)
	arcPath := filepath.Join(filepath.Dir(path), "archive.db")
	ctx, cancel := context.WithCancel(context.Background())
	restore := faultpoint.SetHook(func(name string) {
		if name == "ledger.archive.copied" {
			cancel()
		}
	})
	_, err := l.Archive(ctx, arcPath, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	restore()
	if err == nil {
		t.Fatal("archive stopped after the copy reported success")
	}
	bg := context.Background()
	if _, err := l.Run(bg, 1); err != nil {
		t.Fatalf("run 1 left the ledger although the archive was interrupted: %v", err)
	}
	if _, err := l.Row(bg, "A"); err != nil {
		t.Fatalf("row A left the ledger although the archive was interrupted: %v", err)
	}
	res, err := l.Archive(bg, arcPath, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(res.Runs) != 1 || res.Rows != 2 {
		t.Fatalf("archive after the interruption = %+v, %v; want run 1 with 2 rows", res, err)
	}
	arc, err := ledger.Open(bg, arcPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer arc.Close()
	counts, err := arc.Counts(bg, 1)
	if err != nil || counts[ledger.StatePaid]+counts[ledger.StateLoaded] != 2 {
		t.Errorf("archived run 1 counts = %v, %v; want its 2 rows once", counts, err)
	}
}
