package console

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// runLine is one run in the runs list.
type runLine struct {
	Run ledger.Run
	runTotals
	// Counting says this finished run's totals are still being counted in
	// the background (countSummaries): the page says so, and shows no
	// total that is not the sum of the run's rows.
	Counting bool
}

// runTotals is what runLines sums from a run's rows, kept in the ledger for
// runs that can no longer change.
type runTotals struct {
	Total       int
	Settled     int
	NeedsPerson int
	Requested   string // per source currency
	// Paid is what this run itself paid; Earlier names the rows of its
	// sheet other runs had settled, so the page adds up without counting a
	// payment twice.
	Paid    string
	Earlier string
}

// runsShown is how many runs, newest first, the runs page lists.
const runsShown = 100

// runsPageData is the runs page's data.
type runsPageData struct {
	Lines    []runLine
	Counting int // lines still Counting
}

// runsPage lists the ledger's runs, newest first, with totals.
func (s *Server) runsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	lines, err := s.runLines(r.Context(), runsShown)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("list runs")
		s.message(w, r, http.StatusInternalServerError, "Runs unreadable", "The runs could not be read from the ledger.", "/")
		return
	}
	d := runsPageData{Lines: lines}
	for _, ln := range lines {
		if ln.Counting {
			d.Counting++
		}
	}
	s.render(w, r, http.StatusOK, "runs", "Runs", d)
}

// summaries tracks countSummaries, the background pass that sums the
// finished runs whose totals the ledger does not keep yet.
type summaries struct {
	start   sync.Once // by the first list of runs, once it is answered
	mu      sync.Mutex
	running bool           // the pass has not ended
	visited map[int64]bool // runs the pass has summed, kept or not
	done    chan struct{}  // closed when the pass ends
}

// counting reports whether the background pass has still to sum run id.
func (m *summaries) counting(id int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running && !m.visited[id]
}

func (m *summaries) visit(id int64) {
	m.mu.Lock()
	m.visited[id] = true
	m.mu.Unlock()
}

// countingHold, when a test sets it, holds countSummaries until closed, so
// the test sees the page while totals are being counted.
var countingHold chan struct{}

// countSummaries sums, newest first, the finished runs among the newest
// runsShown that have no kept summary, and keeps each one that can no
// longer change (ledger.PutRunSummary, a write through the ledger's
// writer). A ledger from before summaries were kept (an upgrade) has none:
// summing all its runs in the first page view took a minute on five years
// of monthly 10,000-row runs, so the first views show those runs as being
// counted instead, and each later view shows every total counted so far.
// The first list of runs starts it (runLines).
// Runs finished after the pass are summed by the next view, one at a time.
func (s *Server) countSummaries(ctx context.Context) {
	m := &s.sums
	defer func() {
		m.mu.Lock()
		m.running = false
		m.mu.Unlock()
		close(m.done)
	}()
	if countingHold != nil {
		select {
		case <-countingHold:
		case <-ctx.Done():
			return
		}
	}
	runs, err := s.cfg.Ledger.Runs(ctx)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("count run totals")
		return
	}
	slices.Reverse(runs)
	runs = runs[:min(len(runs), runsShown)]
	for _, run := range runs {
		if ctx.Err() != nil {
			return
		}
		if run.Status != ledger.RunFinished {
			continue
		}
		if _, ok, err := s.cfg.Ledger.RunSummary(ctx, run.ID); err != nil || ok {
			m.visit(run.ID)
			continue
		}
		t, err := s.sumRun(ctx, run)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Log.Error().Err(err).Int64("run", run.ID).Msg("count run totals")
			}
			return // the page sums what is left itself
		}
		s.keepSummary(ctx, run, t)
		m.visit(run.ID)
	}
}

// keepSummary keeps t as the totals of run if it is finished and can no
// longer change (ledger.PutRunSummary); a read-only ledger keeps nothing,
// which costs only time.
func (s *Server) keepSummary(ctx context.Context, run ledger.Run, t runTotals) {
	if run.Status != ledger.RunFinished {
		return
	}
	if data, err := json.Marshal(t); err == nil {
		_, _ = s.cfg.Ledger.PutRunSummary(ctx, run.ID, string(data))
	}
}

// runLines summarises the newest limit runs. Totals come from the rows, so
// they hold for runs started from the command line or cron too. A finished
// run the background pass has yet to sum is a Counting line.
func (s *Server) runLines(ctx context.Context, limit int) ([]runLine, error) {
	// The count starts once the first list is made, so it never slows
	// that first answer, and a console nobody looks at counts nothing.
	defer s.sums.start.Do(func() {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.countSummaries(s.stop) }()
	})
	all, err := s.cfg.Ledger.Runs(ctx)
	if err != nil {
		return nil, err
	}
	runs := slices.Clone(all)
	slices.Reverse(runs)
	if len(runs) > limit {
		runs = runs[:limit]
	}
	s.markInterrupted(ctx, runs, all)
	if len(runs) == 0 {
		return nil, nil
	}
	// A run that can no longer change was summed once; a five-year ledger
	// would otherwise read every row of every month here.
	kept, err := s.cfg.Ledger.RunSummaries(ctx, runs[len(runs)-1].ID, runs[0].ID)
	if err != nil {
		return nil, err
	}
	out := make([]runLine, 0, len(runs))
	for _, run := range runs {
		ln := runLine{Run: run}
		if data, ok := kept[run.ID]; ok && json.Unmarshal([]byte(data), &ln.runTotals) == nil {
			out = append(out, ln)
			continue
		}
		if run.Status == ledger.RunFinished && s.sums.counting(run.ID) {
			ln.Counting = true
			out = append(out, ln)
			continue
		}
		if ln.runTotals, err = s.sumRun(ctx, run); err != nil {
			return nil, err
		}
		s.keepSummary(ctx, run, ln.runTotals)
		out = append(out, ln)
	}
	return out, nil
}

// sumRun sums run's rows as they stand now.
func (s *Server) sumRun(ctx context.Context, run ledger.Run) (runTotals, error) {
	var t runTotals
	requested, paid := map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
	earlier, earlierRows, earlierRuns := map[string]decimal.Decimal{}, 0, map[int64]bool{}
	for row, err := range s.cfg.Ledger.RunAmounts(ctx, run.ID) {
		if err != nil {
			return runTotals{}, err
		}
		t.Total++
		kind := results.ResultOf(string(row.State))
		cur := row.SourceCurrency
		amt, known := row.Amount, row.AmountIs != sheet.AmountIsDestination
		if row.SourceAmount.Valid {
			amt, known = row.SourceAmount.Decimal, true
		}
		if known {
			requested[cur] = requested[cur].Add(amt)
		}
		if kind.Settled() {
			t.Settled++
			if by := row.SettledRunID; by != 0 && by != run.ID {
				earlierRows++
				earlierRuns[by] = true
				if known {
					earlier[cur] = earlier[cur].Add(amt)
				}
			} else if known {
				paid[cur] = paid[cur].Add(amt)
			}
			if _, ok := paid[cur]; !ok {
				paid[cur] = decimal.Zero // 0.00 USD, not an empty cell
			}
		} else {
			t.NeedsPerson++
		}
	}
	t.Requested, t.Paid = totalsText(requested), totalsText(paid)
	if earlierRows > 0 {
		ids := slices.Sorted(maps.Keys(earlierRuns))
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = fmt.Sprint(id)
		}
		what := "already paid earlier"
		if ids[0] > run.ID {
			what = "paid by a later run"
		}
		t.Earlier = fmt.Sprintf("%s: %s, %s, in run %s", what, plural.Count(earlierRows, "row"), totalsText(earlier), strings.Join(names, ", "))
	}
	return t, nil
}

// rowData is the row trail page's data.
type rowData struct {
	Row    ledger.Row
	Events []ledger.Event
}

// rowPage shows one row and the ledger's event trail for it.
func (s *Server) rowPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.URL.Query().Get("id")
	row, err := s.cfg.Ledger.Row(r.Context(), id)
	if err != nil {
		s.message(w, r, http.StatusNotFound, "No such row", fmt.Sprintf("The ledger has no row %q.", id), "/runs")
		return
	}
	d := rowData{Row: row}
	for ev, err := range s.cfg.Ledger.Events(r.Context(), ledger.EventFilter{TransferID: id}) {
		if err != nil {
			s.cfg.Log.Error().Err(err).Msg("read events")
			break
		}
		d.Events = append(d.Events, ev)
	}
	s.render(w, r, http.StatusOK, "row", "Row "+id, d)
}
