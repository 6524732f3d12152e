package batch

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// BenchmarkCallsPerRow pays two months of the same payees, once as wallet
// loads and once as USA bank payouts, against the embedded sandbox over
// loopback into a real ledger file, and reports the MassPay calls a row
// took each month as the sandbox counted them (its request counters; the
// run's one balance fetch is left out). Month two re-uses the user tokens
// (loads) and the payee route cache (bank payouts) of month one. Goal
// (issue 21): month-two loads 1.0, month-two bank payouts <= 3.0.
//
//	go test -run '^$' -bench CallsPerRow -benchtime 1x ./batch/
func BenchmarkCallsPerRow(b *testing.B) {
	const rows = 200
	for _, kind := range []string{"loads", "bank"} {
		b.Run(kind, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				g := newRig(b, rigOptions{sandbox: sandbox.Config{Balances: map[string]decimal.Decimal{"USD": decimal.NewFromInt(1_000_000_000)}}})
				var perRow [2]float64
				for month := 1; month <= 2; month++ {
					lines := make([]sheetLine, rows)
					for n := range lines {
						id := fmt.Sprintf("M%d-%04d", month, n+1)
						amt := fmt.Sprintf("%d.%02d", 100+n, 20+n%50)
						if kind == "loads" {
							lines[n] = loadLine(id, n+1, amt)
						} else {
							lines[n] = bankLine(id, n+1, amt)
						}
					}
					runID := g.ingest(writeSheetCSV(b, g.dir, lines))
					g.srv.ResetRequests()
					b.StartTimer()
					st, err := g.runner(8).Run(g.ctx, g.ctx, runID)
					b.StopTimer()
					if err != nil {
						b.Fatal(err)
					}
					if n := st.Counts[ledger.StateLoaded] + st.Counts[ledger.StatePaid]; n != rows {
						b.Fatalf("month %d: %d of %d rows paid: %v", month, n, rows, st.Counts)
					}
					calls := g.srv.ResetRequests()
					calls["GET /account/balance"]--
					perRow[month-1] = float64(total(calls)) / rows
					b.Logf("%s month %d: %.2f calls/row (%s)", kind, month, perRow[month-1], callList(calls, rows))
				}
				b.ReportMetric(perRow[0], "m1-calls/row")
				b.ReportMetric(perRow[1], "m2-calls/row")
			}
		})
	}
}

// callList renders per-row counts by call, largest first.
func callList(calls map[string]int64, rows int) string {
	names := make([]string, 0, len(calls))
	for k, v := range calls {
		if v > 0 {
			names = append(names, k)
		}
	}
	sort.Slice(names, func(i, j int) bool {
		if calls[names[i]] != calls[names[j]] {
			return calls[names[i]] > calls[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %.2f", k, float64(calls[k])/float64(rows))
	}
	return strings.Join(parts, ", ")
}
