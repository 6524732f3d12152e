package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// durableBackends are SQLite (synchronous=FULL) and PostgreSQL on a
// cluster with its durable defaults: what a benchmark of durable commits
// compares.
var durableBackends = []backend{
	backends[0],
	{"postgres", func(t testing.TB) string { return pgtest.DurableURL(t) }},
}

// BenchmarkTransition measures durable transitions per second (every one
// committed with synchronous=FULL before its call returns) with 1, 8 and 32
// concurrent writers, each working its own row as the runner's workers do.
// Each op is one self-transition that bumps attempts and appends an event:
// the shape of the intent write that precedes every MassPay call. It runs on
// each backend in turn (BenchmarkTransition/sqlite/writers=8,
// .../postgres/writers=8), so one run compares them side by side on the same
// machine. PostgreSQL's is durable too: pgtest.DurableURL's cluster keeps
// fsync, synchronous_commit and full_page_writes on (the test suite's runs
// with them off, which would make its commits free); it is skipped without
// a server (internal/pgtest).
func BenchmarkTransition(b *testing.B) {
	for _, bk := range durableBackends {
		b.Run(bk.name, func(b *testing.B) { benchmarkTransition(b, bk) })
	}
}

func benchmarkTransition(b *testing.B, bk backend) {
	for _, writers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			l, _ := bk.openTemp(b)
			run := beginRun(b, l)
			in := make([]ledger.RowInput, writers)
			for i := range in {
				in[i] = input(fmt.Sprintf("row-%d", i), i+2, "10.00")
			}
			upsert(b, l, run.ID, in...)
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("row-%d", w)
					for next.Add(1) <= int64(b.N) {
						_, err := l.Transition(context.Background(), id, ledger.StateNew, ledger.StateNew,
							ledger.RowUpdate{AddAttempts: 1}, ledger.Event{Kind: ledger.EventAPICall, IdempotencyKey: id})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
		})
	}
}
