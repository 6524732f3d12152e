package console

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

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

// runsPage lists the ledger's runs, newest first, with totals.
func (s *Server) runsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	lines, err := s.runLines(r.Context(), 100)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("list runs")
		s.message(w, r, http.StatusInternalServerError, "Runs unreadable", "The runs could not be read from the ledger.", "/")
		return
	}
	s.render(w, r, http.StatusOK, "runs", "Runs", lines)
}

// runLines summarises the newest limit runs. Totals come from the rows, so
// they hold for runs started from the command line or cron too.
func (s *Server) runLines(ctx context.Context, limit int) ([]runLine, error) {
	runs, err := s.cfg.Ledger.Runs(ctx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(runs)
	if len(runs) > limit {
		runs = runs[:limit]
	}
	out := make([]runLine, 0, len(runs))
	for _, run := range runs {
		ln := runLine{Run: run}
		// A run that can no longer change was summed once; a five-year
		// ledger would otherwise read every row of every month here.
		if data, ok, err := s.cfg.Ledger.RunSummary(ctx, run.ID); err == nil && ok &&
			json.Unmarshal([]byte(data), &ln.runTotals) == nil {
			out = append(out, ln)
			continue
		}
		requested, paid := map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
		earlier, earlierRows, earlierRuns := map[string]decimal.Decimal{}, 0, map[int64]bool{}
		for row, err := range s.cfg.Ledger.Rows(ctx, ledger.RowFilter{RunID: run.ID}) {
			if err != nil {
				return nil, err
			}
			ln.Total++
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
				ln.Settled++
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
				ln.NeedsPerson++
			}
		}
		ln.Requested, ln.Paid = totalsText(requested), totalsText(paid)
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
			ln.Earlier = fmt.Sprintf("%s: %s, %s, in run %s", what, plural.Count(earlierRows, "row"), totalsText(earlier), strings.Join(names, ", "))
		}
		if run.Status == ledger.RunFinished {
			// Kept only if nothing can change it (ledger.PutRunSummary);
			// a read-only ledger keeps nothing, which costs only time.
			if data, err := json.Marshal(ln.runTotals); err == nil {
				_, _ = s.cfg.Ledger.PutRunSummary(ctx, run.ID, string(data))
			}
		}
		out = append(out, ln)
	}
	return out, nil
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
