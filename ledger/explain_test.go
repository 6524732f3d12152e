package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/ledgergen"
)

// bigTables are the tables that grow with every month; a full scan of one
// is what makes a command slow on a five-year ledger.
var bigTables = []string{"rows", "events", "run_rows", "conflicts", "requests"}

// TestQueryPlansUseIndexes runs what status, report, plan, a resumed run
// and the console's run pages ask of the ledger on a generated history,
// records every read query they send, and checks SQLite's EXPLAIN QUERY
// PLAN of each: no full scan of a big table (a SCAN step, whether of the
// table or of a whole index of it). A query that reads everything by design
// would have to be listed here; none is.
func TestQueryPlansUseIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hist.db")
	if err := ledgergen.Generate(ctx, path, ledgergen.Spec{Runs: 4, RowsPerRun: 400, EventsPerRow: 3,
		Start: time.Date(2025, 1, 5, 9, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	// One row left in flight, one needing a person: the resume paths.
	db := rawDB(t, path)
	for _, q := range []string{`UPDATE rows SET state = 'initiated' WHERE client_transfer_id = 'G04-000001'`,
		`UPDATE rows SET state = 'NEEDS_ACTION' WHERE client_transfer_id = 'G04-000002'`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	type query struct {
		q    string
		args []any
	}
	var (
		mu   sync.Mutex
		seen = map[string]query{}
	)
	ledger.SetQueryTrace(func(q string, args []any) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := seen[q]; !ok {
			seen[q] = query{q, append([]any(nil), args...)}
		}
	})
	steps := map[string]func() error{
		"status": func() error {
			if _, err := l.LatestRun(ctx); err != nil {
				return err
			}
			if _, err := l.Run(ctx, 4); err != nil {
				return err
			}
			if _, err := l.Counts(ctx, 4); err != nil {
				return err
			}
			for _, err := range l.Rows(ctx, ledger.RowFilter{RunID: 4}) {
				if err != nil {
					return err
				}
			}
			_, err := results.SummarizeRun(ctx, l, 4)
			return err
		},
		"report": func() error {
			flips, err := reconcile.LedgerFlips(ctx, l, 3)
			if err != nil {
				return err
			}
			_, err = results.WriteResults(ctx, l, 3, filepath.Join(t.TempDir(), "r.csv"),
				results.ResultsOptions{Format: ingest.FormatCSV, Flips: flips})
			return err
		},
		"plan and run": func() error {
			for _, id := range []string{"G04-000001", "G09-000001"} {
				if _, err := l.Row(ctx, id); err != nil && err != ledger.ErrNotFound && !strings.Contains(err.Error(), "not found") {
					return err
				}
				if _, err := l.SettledRun(ctx, id); err != nil {
					return err
				}
			}
			if _, _, err := l.UserToken(ctx, "gu000001"); err != nil {
				return err
			}
			if _, err := l.InRun(ctx, 4, "G04-000003"); err != nil {
				return err
			}
			for _, err := range l.RowsToWork(ctx, 4) {
				if err != nil {
					return err
				}
			}
			for _, err := range l.Rows(ctx, ledger.RowFilter{RunID: 4, States: []ledger.State{ledger.StateNeedsAction}}) {
				if err != nil {
					return err
				}
			}
			for _, err := range l.Events(ctx, ledger.EventFilter{TransferID: "G04-000001"}) {
				if err != nil {
					return err
				}
			}
			for _, err := range l.Events(ctx, ledger.EventFilter{RunID: 4}) {
				if err != nil {
					return err
				}
			}
			_, err := l.AlertsAbout(ctx, "G04-000002")
			return err
		},
		"archive lookup": func() error { _, err := l.ArchiveOf(ctx, 1); return err },
		"console runs page": func() error {
			if _, err := l.RunSummaries(ctx, 1, 4); err != nil {
				return err
			}
			if _, _, err := l.RunSummary(ctx, 3); err != nil {
				return err
			}
			for _, err := range l.RunAmounts(ctx, 3) {
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	for name, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ledger.SetQueryTrace(nil)
	if len(seen) < 10 {
		t.Fatalf("only %d distinct queries traced", len(seen))
	}
	for _, q := range seen {
		plan, err := l.ExplainQueryPlan(ctx, q.q, q.args...)
		if err != nil {
			t.Fatalf("explain %s: %v", q.q, err)
		}
		if scan := fullScan(plan); scan != "" {
			t.Errorf("full scan (%s) in\n%s\nplan:\n  %s", scan, oneLine(q.q), strings.Join(plan, "\n  "))
		}
	}
}

// fullScan returns the plan step that reads a whole big table or index, or "".
func fullScan(plan []string) string {
	for _, step := range plan {
		// Keyset paging from id 0 by the rowid alone walks the whole table.
		if strings.HasPrefix(step, "SEARCH ") && strings.HasSuffix(step, "USING INTEGER PRIMARY KEY (rowid>?)") {
			return step
		}
		if !strings.HasPrefix(step, "SCAN ") {
			continue
		}
		for _, tbl := range bigTables {
			if strings.HasPrefix(step, "SCAN "+tbl) || strings.Contains(step, "INDEX "+tbl) ||
				strings.Contains(step, " INDEX "+strings.TrimSuffix(tbl, "s")+"s_") {
				return step
			}
		}
		// An alias (SCAN r, SCAN e USING INDEX events_by_row) names the
		// table only through its index, or not at all.
		if fields := strings.Fields(step); len(fields) >= 2 && len(fields[1]) <= 2 {
			return step
		}
	}
	return ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return fmt.Sprint(s)
}
