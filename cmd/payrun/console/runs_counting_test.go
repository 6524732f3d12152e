package console

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/ledgergen"
)

// TestRunsPageCountsUpgradedRunsInBackground: a ledger from before run
// summaries were kept (every run finished, none summed). Before, the first
// view of the runs page summed every row of every run before answering (57
// s on five years of monthly 10,000-row runs); now it answers at once, shows
// those runs as being counted (no total that is not a sum of the rows), and
// once the background count has run shows every total, kept in the ledger.
func TestRunsPageCountsUpgradedRunsInBackground(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	if err := ledgergen.Generate(ctx, path, ledgergen.Spec{Runs: 3, RowsPerRun: 150, EventsPerRow: 1,
		Start: ledgergen.FiveYears.Start}); err != nil {
		t.Fatal(err)
	}
	old, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	hold := make(chan struct{})
	countingHold = hold
	t.Cleanup(func() { countingHold = nil })
	e := newEnv(t, func(c *Config) { c.Ledger = old })
	e.ledger = old
	vic := e.signIn("vic")

	code, page := vic.get("/runs")
	if code != 200 || strings.Count(page, "counting…") != 3 || !strings.Contains(page, `id="counting"`) ||
		strings.Contains(page, " USD") {
		t.Fatalf("runs page while counting = %d: want 3 runs counting, no totals\n%s", code, page)
	}
	for id := int64(1); id <= 3; id++ {
		if _, ok, _ := old.RunSummary(ctx, id); ok {
			t.Fatalf("run %d summed before the count ran", id)
		}
	}

	close(hold)
	<-e.srv.sums.done
	for id := int64(1); id <= 3; id++ {
		if _, ok, err := old.RunSummary(ctx, id); !ok || err != nil {
			t.Fatalf("run %d not kept after the count: %v", id, err)
		}
	}
	_, page = vic.get("/runs")
	if strings.Contains(page, "counting") || strings.Count(page, `<td class="num">150</td>`) != 6 {
		t.Fatalf("runs page after the count: want every run's 150 rows, all settled\n%s", page)
	}
	// The counted totals are the rows' sums, as a run summed at view time.
	lines, err := e.srv.runLines(ctx, runsShown)
	if err != nil {
		t.Fatal(err)
	}
	for _, ln := range lines {
		want, err := e.srv.sumRun(ctx, ln.Run)
		if err != nil {
			t.Fatal(err)
		}
		if ln.runTotals != want || ln.Requested == "" || ln.Paid != ln.Requested {
			t.Errorf("run %d: kept %+v, its rows sum to %+v", ln.Run.ID, ln.runTotals, want)
		}
	}
}
