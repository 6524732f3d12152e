package ledgergen_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/ledgergen"
)

// TestGenerate: a small generated history reads back through the ledger's
// own API as settled runs.
func TestGenerate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "g.db")
	spec := ledgergen.Spec{Runs: 3, RowsPerRun: 300, EventsPerRow: 4, Start: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)}
	t0 := time.Now()
	if err := ledgergen.Generate(ctx, path, spec); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated in %v", time.Since(t0))
	l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	runs, err := l.Runs(ctx)
	if err != nil || len(runs) != 3 || runs[2].Status != ledger.RunFinished {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	counts, err := l.Counts(ctx, 3)
	if err != nil || counts[ledger.StatePaid] != 200 || counts[ledger.StateLoaded] != 100 {
		t.Errorf("run 3 counts = %v, %v", counts, err)
	}
	n := 0
	for r, err := range l.Rows(ctx, ledger.RowFilter{RunID: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.SettledRunID != 2 || len(r.Input) != 7 {
			t.Fatalf("row %s settled by %d, %d input columns", r.ID, r.SettledRunID, len(r.Input))
		}
		n++
	}
	if n != 300 {
		t.Errorf("run 2 has %d rows, want 300", n)
	}
}
