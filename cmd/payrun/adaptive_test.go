package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// trial is one `payrun run` of a fresh sheet against a fresh sandbox.
type trial struct {
	Label     string
	Elapsed   time.Duration // the paying phase: first to last row
	Rows      int
	States    map[ledger.State]int
	Throttled int64 // 429 answers the sandbox sent
	Requests  int64 // API requests the sandbox answered
	// Windows are the progress reports' windows, in order.
	Windows []int
	// Rate is the requests/s of the progress reports, in order.
	Rates []float64
	// Bad lists rows that ended FAILED or NEEDS_ACTION, with their reason.
	Bad []string
}

// runTrial pays an n-row mixed sheet (loads and USA and MEX bank payouts,
// sandboxBenchRows) with `payrun run --yes --base-url ... args...` in-process,
// against a sandbox with faults f behind a proxy that counts its answers.
func runTrial(tb testing.TB, label string, n int, f sandbox.Faults, args ...string) trial {
	tb.Helper()
	srv, err := sandbox.Start(sandbox.Config{APIKey: sandboxKey, Faults: f})
	if err != nil {
		tb.Fatal(err)
	}
	defer srv.Close()
	target, _ := url.Parse("http://" + srv.Addr())
	var throttled, requests atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		requests.Add(1)
		if r.StatusCode == http.StatusTooManyRequests {
			throttled.Add(1)
		}
		return nil
	}
	front := httptest.NewServer(proxy)
	defer front.Close()
	base := front.URL + strings.TrimPrefix(srv.URL(), "http://"+srv.Addr())

	dir := tb.TempDir()
	sheet, ledgerPath := filepath.Join(dir, "mixed.csv"), filepath.Join(dir, "payrun.db")
	var b strings.Builder
	for _, r := range append([][]string{runSheetHeader}, sandboxBenchRows(n)...) {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	if err := os.WriteFile(sheet, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	tr := trial{Label: label, Rows: n}
	var mu sync.Mutex
	var first, last time.Time
	m := &Main{Stdin: strings.NewReader(""), Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(k string) string {
		if k == "MASSPAY_API_KEY" {
			return sandboxKey
		}
		return ""
	}}
	m.progressHook = func(p batch.Progress) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first = p.Started
		}
		last = now
		tr.Windows = append(tr.Windows, p.Window)
		if os.Getenv("BENCH_ADAPTIVE_TRACE") != "" && p.Done%25 == 0 {
			fmt.Printf("  %5.2fs done %4d window %2d %5.0f req/s\n", now.Sub(p.Started).Seconds(), p.Done, p.Window, p.RequestRate)
		}
		tr.Rates = append(tr.Rates, p.RequestRate)
	}
	cmd := append([]string{"run", "--yes", "--base-url", base, "--ledger", ledgerPath}, args...)
	err = m.Run(context.Background(), append(cmd, sheet))
	if err != nil && ExitCode(err) != ExitAttention {
		tb.Fatalf("%s: payrun run: %v\n%s", label, err, m.Stderr.(*syncBuffer).String())
	}
	tr.Elapsed = last.Sub(first)
	tr.Throttled, tr.Requests = throttled.Load(), requests.Load()

	l, err := ledger.Open(context.Background(), ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	tr.States = map[ledger.State]int{}
	for r, err := range l.Rows(context.Background(), ledger.RowFilter{}) {
		if err != nil {
			tb.Fatal(err)
		}
		tr.States[r.State]++
		if r.State == ledger.StateFailed || r.State == ledger.StateNeedsAction {
			tr.Bad = append(tr.Bad, r.ID+" "+string(r.State)+": "+r.LastError)
		}
	}
	return tr
}

// settled reports whether every row of the trial ended PAID or LOADED.
func (tr trial) settled() bool {
	return tr.States[ledger.StatePaid]+tr.States[ledger.StateLoaded] == tr.Rows
}

// tailWindow is the median window of the last half of the progress reports.
func (tr trial) tailWindow() int {
	w := append([]int(nil), tr.Windows[len(tr.Windows)/2:]...)
	sort.Ints(w)
	if len(w) == 0 {
		return 0
	}
	return w[len(w)/2]
}

func (tr trial) String() string {
	return fmt.Sprintf("%-12s %7.1f s  %6.1f rows/s  %5d requests  %4d x 429  window %2d (median of the run's second half)",
		tr.Label, tr.Elapsed.Seconds(), float64(tr.Rows)/tr.Elapsed.Seconds(), tr.Requests, tr.Throttled, tr.tailWindow())
}

// TestAdaptiveRunConvergesUnder429s: an 80-row mixed sheet, run with no
// flags at all, against a MassPay that answers in 5 ms, allows 40
// requests/s and says so only with 429s (no rate-limit headers): a limit
// even a client slowed by the race detector runs into. The window comes down
// from its slow start and stays well under the maximum, every row is paid or
// loaded, none ends FAILED or NEEDS_ACTION, though MassPay answered 429s.
func TestAdaptiveRunConvergesUnder429s(t *testing.T) {
	if testing.Short() {
		t.Skip("an 80-row run paced at 40 requests/s")
	}
	tr := runTrial(t, "adaptive", 80, sandbox.Faults{Latency: 5 * time.Millisecond, RateLimit: 40, RateLimitQuiet: true})
	t.Log(tr)
	if len(tr.Bad) > 0 || !tr.settled() {
		t.Fatalf("rows by state %v; ended badly: %v", tr.States, tr.Bad)
	}
	if tr.Throttled == 0 {
		t.Fatal("MassPay never answered 429: the test proves nothing")
	}
	// 40 requests/s at 5 ms needs less than one request in flight; the
	// window may hold more rows (ledger time between calls, tolerance,
	// rows waiting out a Retry-After), but not run away to the maximum.
	if w := tr.tailWindow(); w > 40 || w < 1 {
		t.Fatalf("window %d over the run's second half (windows %v)", w, tr.Windows)
	}
	if share := float64(tr.Throttled) / float64(tr.Requests); share > 0.2 {
		t.Fatalf("%.0f%% of requests answered 429: the window did not come down", 100*share)
	}
}

// TestAdaptiveRunFollowsAnnouncedLimit: the same against a MassPay that
// announces its limit (X-RateLimit-Limit): the client's token bucket takes
// it, so hardly a request is refused, every row is paid, and the window
// stays small: rows waiting in the bucket make the latency it sees.
func TestAdaptiveRunFollowsAnnouncedLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("an 80-row run paced at 40 requests/s")
	}
	tr := runTrial(t, "adaptive", 80, sandbox.Faults{Latency: 5 * time.Millisecond, RateLimit: 40})
	t.Log(tr)
	if len(tr.Bad) > 0 || !tr.settled() {
		t.Fatalf("rows by state %v; ended badly: %v", tr.States, tr.Bad)
	}
	if tr.Throttled > 3 {
		t.Fatalf("%d answers were 429 though MassPay announced its limit", tr.Throttled)
	}
	if w := tr.tailWindow(); w > 32 {
		t.Fatalf("window %d over the run's second half: rows queue in the token bucket", w)
	}
}

// BenchmarkAdaptiveVsFixed is issue 21's comparison: a mixed sheet with no
// --workers (as a new user runs it) against --workers 1, 4, 8, 16, 32 and
// 64 (with --rate-limit 1000, so only MassPay limits them), side by side,
// against the sandbox at 200 ms latency with a 40/s limit and at 50 ms
// without a limit. It prints each run and the ratio adaptive / best fixed
// (goal <= 1.1). BENCH_ADAPTIVE=1 turns it on (make bench-adaptive);
// BENCH_ADAPTIVE_ROWS sets the sheet's rows (default 5000),
// BENCH_ADAPTIVE_WORKERS the fixed runs (default 1,4,8,16,32,64),
// BENCH_ADAPTIVE_SCENARIO picks the scenarios whose name contains it,
// BENCH_ADAPTIVE_ARGS adds flags to the adaptive run, and
// BENCH_ADAPTIVE_TRACE=1 prints every 25th row's time, window and request
// rate.
func BenchmarkAdaptiveVsFixed(b *testing.B) {
	if os.Getenv("BENCH_ADAPTIVE") == "" {
		b.Skip("BENCH_ADAPTIVE=1 runs it (make bench-adaptive): minutes per scenario")
	}
	rows := 5000
	if v, err := strconv.Atoi(os.Getenv("BENCH_ADAPTIVE_ROWS")); err == nil && v > 0 {
		rows = v
	}
	fixed := []int{1, 4, 8, 16, 32, 64}
	if v := os.Getenv("BENCH_ADAPTIVE_WORKERS"); v != "" { // a quicker look, e.g. "16,64"
		fixed = nil
		for _, f := range strings.Split(v, ",") {
			if w, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && w > 0 {
				fixed = append(fixed, w)
			}
		}
	}
	scenarios := []struct {
		name   string
		faults sandbox.Faults
	}{
		{"latency 200ms, limit 40/s", sandbox.Faults{Latency: 200 * time.Millisecond, RateLimit: 40}},
		{"latency 50ms, no limit", sandbox.Faults{Latency: 50 * time.Millisecond}},
	}
	for i := 0; i < b.N; i++ {
		for _, sc := range scenarios {
			if f := os.Getenv("BENCH_ADAPTIVE_SCENARIO"); f != "" && !strings.Contains(sc.name, f) {
				continue
			}
			fmt.Printf("== %s, %d rows\n", sc.name, rows)
			ad := runTrial(b, "adaptive", rows, sc.faults, strings.Fields(os.Getenv("BENCH_ADAPTIVE_ARGS"))...)
			fmt.Println(ad)
			best := trial{}
			for _, w := range fixed {
				tr := runTrial(b, fmt.Sprintf("workers %d", w), rows, sc.faults,
					"--workers", strconv.Itoa(w), "--rate-limit", "1000")
				fmt.Println(tr)
				if !tr.settled() {
					b.Errorf("%s %s: rows by state %v", sc.name, tr.Label, tr.States)
				}
				if best.Elapsed == 0 || tr.Elapsed < best.Elapsed {
					best = tr
				}
			}
			ratio := ad.Elapsed.Seconds() / best.Elapsed.Seconds()
			fmt.Printf("adaptive / best fixed (%s): %.2f\n", best.Label, ratio)
			if len(ad.Bad) > 0 || !ad.settled() {
				b.Errorf("%s adaptive: rows by state %v; ended badly: %v", sc.name, ad.States, ad.Bad)
			}
		}
	}
}
