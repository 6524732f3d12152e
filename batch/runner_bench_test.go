package batch

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// BenchmarkRunner pays b.N rows of a mixed sheet (wallet loads, bank
// deposits, bitcoin payouts; every payee new) against the embedded sandbox
// over loopback, into a real ledger file. It reports rows/s, the MassPay
// calls a row takes, and, with latency, the ratio to the ideal
// workers / (calls per row x latency): 1.0 would mean the runner adds
// nothing to the API's own time. Run with `make bench`.
func BenchmarkRunner(b *testing.B) {
	for _, lat := range []time.Duration{0, 50 * time.Millisecond} {
		for _, workers := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("latency=%v/workers=%d", lat, workers), func(b *testing.B) {
				benchRunner(b, lat, workers, func(i int) sheetLine {
					id := fmt.Sprintf("B-%06d", i)
					amt := fmt.Sprintf("%d.%02d", 50+i%900, 20+i%70)
					switch i % 3 {
					case 0:
						return loadLine(id, i, amt)
					case 1:
						return bankLine(id, i, amt)
					}
					return cryptoLine(id, i, amt)
				}, false)
			})
		}
	}
}

// BenchmarkRunnerMonthTwo is next month's sheet: every payee's user token is
// already in the ledger's cache and every row is a wallet load, so a row is
// one MassPay call plus its ledger writes. Goal: 1,000 rows/s at 0 ms.
func BenchmarkRunnerMonthTwo(b *testing.B) {
	for _, workers := range []int{8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			benchRunner(b, 0, workers, func(i int) sheetLine {
				return loadLine(fmt.Sprintf("M2-%06d", i), i, fmt.Sprintf("%d.%02d", 100+i%500, 20+i%70))
			}, true)
		})
	}
}

func benchRunner(b *testing.B, latency time.Duration, workers int, line func(int) sheetLine, cached bool) {
	b.StopTimer()
	g := newRig(b, rigOptions{sandbox: sandbox.Config{Balances: map[string]decimal.Decimal{"USD": decimal.NewFromInt(1_000_000_000)}}})
	// A sheet of at least this many rows, whatever b.N: with a handful of
	// rows the pool never fills (at 50 ms, b.N stays tiny) and the figures
	// measure start-up and the last half-empty wave, not the runner. The
	// metrics below are per row of the sheet actually paid.
	rows := max(b.N, 3000)
	if latency > 0 {
		rows = max(b.N, 30*workers)
	}
	lines := make([]sheetLine, rows)
	for i := range lines {
		lines[i] = line(i + 1)
	}
	runID := g.ingest(writeSheetCSV(b, g.dir, lines))
	if cached {
		// Month one created these payees and cached their tokens.
		for _, l := range lines {
			u, err := g.api.CreateUser(g.ctx, "user:"+l.user, masspay.User{Profile: masspay.Profile{InternalUserID: l.user, Country: l.country,
				FirstName: l.first, LastName: l.last, Email: l.email}})
			if err != nil {
				b.Fatal(err)
			}
			if err := g.led.PutUserToken(g.ctx, l.user, u.UserToken, l.email); err != nil {
				b.Fatal(err)
			}
		}
	}
	g.srv.SetFaults(sandbox.Faults{Latency: latency})
	r := g.runner(workers)
	g.calls.reset()
	b.StartTimer()
	start := time.Now()
	st, err := r.Run(g.ctx, g.ctx, runID)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if n := st.Counts["LOADED"] + st.Counts["PAID"]; n != rows {
		b.Fatalf("%d of %d rows paid: %v", n, rows, st.Counts)
	}
	rowsPerSec := float64(rows) / elapsed.Seconds()
	callsPerRow := float64(g.calls.count()-1) / float64(rows) // less the run's one balance fetch
	b.ReportMetric(rowsPerSec, "rows/s")
	b.ReportMetric(callsPerRow, "calls/row")
	if latency > 0 {
		// With fewer rows than workers the pool cannot fill.
		busy := float64(min(workers, rows))
		ideal := busy / (callsPerRow * latency.Seconds())
		b.ReportMetric(rowsPerSec/ideal, "ideal-ratio")
	}
}
