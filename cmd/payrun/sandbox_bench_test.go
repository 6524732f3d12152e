package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/batch"
)

// sandboxBenchRows returns n rows for the sandbox benchmark: one in three a
// USD wallet load, the others USA or MEX bank deposits, each to its own
// payee. Amounts stay small so that the default balances cover 10,000 rows,
// and their cents avoid every sandbox magic value.
func sandboxBenchRows(n int) [][]string {
	var out [][]string
	for i := 1; i <= n; i++ {
		id, user := fmt.Sprintf("BEN-%05d", i), fmt.Sprintf("ben-u%05d", i)
		email := fmt.Sprintf("payee%05d@bench.example.com", i)
		amt := fmt.Sprintf("%d.%02d", 10+i%50, 20+i%60)
		row := []string{id, user, "Pat", fmt.Sprintf("Payee%05d", i), email}
		switch i % 3 {
		case 0:
			row = append(row, "USA", "load", amt, "USD", "", "", "", "", "", "")
		case 1:
			row = append(row, "USA", "payout", amt, "USD", "USD", "BANK_DEPOSIT", "Bank Deposit", "0012345678", "021000021", "")
		case 2:
			row = append(row, "MEX", "payout", amt, "USD", "MXN", "BANK_DEPOSIT", "Bank Deposit", "012180001234567897", "", "")
		}
		out = append(out, row)
	}
	return out
}

// sandboxRun runs `payrun run --sandbox --yes` in-process at default
// settings on an n-row sheet and returns when each row reached its final
// state, counted from the start of the paying phase (done[k] is when k+1
// rows were done).
func sandboxRun(tb testing.TB, n int) (done []time.Duration, total time.Duration) {
	tb.Helper()
	dir := tb.TempDir()
	sheet, ledgerPath := writeBenchSheet(tb, dir, n), filepath.Join(dir, "payrun.db")
	var mu sync.Mutex
	var started time.Time
	trace := os.Getenv("BENCH_SANDBOX_TRACE") != "" // the window every 500 rows, on stderr
	m := &Main{Stdin: strings.NewReader(""), Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(string) string { return "" }}
	m.progressHook = func(p batch.Progress) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		started = p.Started
		if trace && p.Done/500 != len(done)/500 {
			fmt.Fprintf(os.Stderr, "%6.1fs %5d rows window %d %.0f req/s\n", now.Sub(p.Started).Seconds(), p.Done, p.Window, p.RequestRate)
		}
		for len(done) < p.Done {
			done = append(done, now.Sub(p.Started))
		}
	}
	t0 := time.Now()
	// BENCH_SANDBOX_ARGS adds flags (e.g. "--workers 8") to compare a
	// setting with the defaults a new user runs.
	args := append([]string{"run", "--sandbox", "--yes", "--ledger", ledgerPath}, strings.Fields(os.Getenv("BENCH_SANDBOX_ARGS"))...)
	err := m.Run(context.Background(), append(args, sheet))
	total = time.Since(t0)
	if err != nil {
		tb.Fatalf("payrun run: %v\n%s", err, m.Stderr.(*syncBuffer).String())
	}
	if len(done) != n || started.IsZero() {
		tb.Fatalf("%d of %d rows reported done", len(done), n)
	}
	return done, total
}

// rowsPerSecond returns the rate of rows from..to (0-based, to exclusive)
// given the finishing times of sandboxRun.
func rowsPerSecond(done []time.Duration, from, to int) float64 {
	var start time.Duration
	if from > 0 {
		start = done[from-1]
	}
	return float64(to-from) / (done[to-1] - start).Seconds()
}

// BenchmarkSandboxRun10k is the big-sheet trial a newcomer makes: `payrun
// run --sandbox` at default settings on 10,000 rows (loads and bank
// payouts), the embedded sandbox keeping its state file. It reports the
// rows/s of the first and the last 1,000 rows, their ratio, and the whole
// run's seconds. Run it alone: go test -run '^$' -bench SandboxRun10k
// -benchtime 1x ./cmd/payrun/
func BenchmarkSandboxRun10k(b *testing.B) { benchSandboxRun(b, 10000, 1000) }

// BenchmarkSandboxRun1k is BenchmarkSandboxRun10k at a tenth of the size
// (first and last 100 rows): a quick look.
func BenchmarkSandboxRun1k(b *testing.B) { benchSandboxRun(b, 1000, 100) }

func benchSandboxRun(b *testing.B, n, window int) {
	for i := 0; i < b.N; i++ {
		done, total := sandboxRun(b, n)
		first, last := rowsPerSecond(done, 0, window), rowsPerSecond(done, n-window, n)
		b.ReportMetric(first, "first-rows/s")
		b.ReportMetric(last, "last-rows/s")
		b.ReportMetric(last/first, "last/first")
		b.ReportMetric(total.Seconds(), "run-s")
	}
}
