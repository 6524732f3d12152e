package torture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// The deterministic simulation: runner, ledger, sandbox and a faulty
// transport in one process, every choice drawn from one seed. The runner
// works with one worker and every clock is the sandbox's manual clock, so a
// seed replays the same requests, faults and crashes in the same order.

// simFaults are a seed's fault rates.
type simFaults struct {
	dropRequest  float64 // the request never reaches MassPay
	serverError  float64 // 500/502/503 without doing anything
	dropResponse float64 // MassPay applied it; the answer is lost
	delay        float64 // the sandbox clock jumps 10s..150s before the answer
}

// simTransport is an http.RoundTripper that serves the sandbox in-process
// and injects the seed's faults. "Crashes" cancel the runner's contexts at a
// chosen request or fault-point boundary.
type simTransport struct {
	h     http.Handler
	clock *sandbox.ManualClock
	rng   *rand.Rand
	f     simFaults

	mu      sync.Mutex
	n       int
	crashAt map[int]bool // request numbers at which to crash
	crash   func()       // cancels the current run; nil between runs
	trace   []string
}

var errSimDropped = errors.New("sim: connection reset")

func (s *simTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	s.mu.Lock()
	s.n++
	n := s.n
	roll := s.rng.Float64()
	delay := time.Duration(10+s.rng.IntN(141)) * time.Second
	code := []int{500, 502, 503}[s.rng.IntN(3)]
	crash := s.crashAt[n] && s.crash != nil
	what := "ok"
	switch f := s.f; {
	case crash:
		what = "crash"
	case roll < f.dropRequest:
		what = "drop-request"
	case roll < f.dropRequest+f.serverError:
		what = "5xx"
	case roll < f.dropRequest+f.serverError+f.dropResponse:
		what = "drop-response"
	case roll < f.dropRequest+f.serverError+f.dropResponse+f.delay:
		what = "delay"
	}
	s.trace = append(s.trace, fmt.Sprintf("%d %s %s key=%s %s", n, req.Method, req.URL.Path, req.Header.Get("Idempotency-Key"), what))
	cancel := s.crash
	s.mu.Unlock()

	switch what {
	case "crash":
		cancel()
		return nil, context.Canceled
	case "drop-request":
		return nil, errSimDropped
	case "5xx":
		return &http.Response{StatusCode: code, Status: http.StatusText(code), Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"title":"sim","message":"simulated fault: nothing done"}`)), Request: req}, nil
	case "delay":
		s.clock.Advance(delay)
	}
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, r2)
	if what == "drop-response" {
		return nil, errSimDropped
	}
	res := rec.Result()
	res.Request = req
	return res, nil
}

// simOutcome is what one seed did.
type simOutcome struct {
	v       verdict
	trace   []string
	runs    int
	crashes int
}

// simulate runs seed to the end: the sheet, the crashes, the resumes.
func simulate(t testing.TB, seed uint64) simOutcome {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x9a7e))
	dir := t.TempDir()
	clock := sandbox.NewManualClock(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Config{APIKey: apiKey, Clock: clock, Seed: int64(seed),
		Balances: map[string]decimal.Decimal{"USD": decimal.NewFromInt(100000000)}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()

	kinds := []kind{kLoad, kBankUSA, kGCash, kBTC, kETH, kUSDT, kMEX}
	n := 6 + rng.IntN(15)
	ks := make([]kind, n)
	for i := range ks {
		ks[i] = kinds[rng.IntN(len(kinds))]
	}
	if rng.IntN(3) == 0 {
		ks[rng.IntN(n)] = kKYC
	}
	if rng.IntN(3) == 0 {
		ks[rng.IntN(n)] = kMissing
	}
	sh := writeSheet(t, filepath.Join(dir, "sheet.csv"), "s"+strconv.FormatUint(seed, 10), ks)

	tr := &simTransport{h: sb, clock: clock, rng: rand.New(rand.NewPCG(seed, 0xfa17)), crashAt: map[int]bool{},
		f: simFaults{dropRequest: rng.Float64() * 0.1, serverError: rng.Float64() * 0.1,
			dropResponse: rng.Float64() * 0.15, delay: rng.Float64() * 0.1}}
	// Crashes: some at a request, some right after a fault-point boundary.
	crashes := rng.IntN(4)
	boundaryCrash := map[int]bool{}
	for range crashes {
		if rng.IntN(2) == 0 {
			tr.crashAt[1+rng.IntN(n*9)] = true
		} else {
			boundaryCrash[1+rng.IntN(n*12)] = true
		}
	}
	hits := 0
	restore := faultpoint.SetHook(func(string) {
		tr.mu.Lock()
		hits++
		c := boundaryCrash[hits] && tr.crash != nil
		cancel := tr.crash
		tr.mu.Unlock()
		if c {
			cancel()
		}
	})
	defer restore()
	// https: the client sends the key over plain http to loopback only;
	// the transport answers in process, so the scheme is only a name.
	client, err := masspay.New(masspay.Config{BaseURL: "https://sim.invalid/v1.0.0/payout", APIKey: apiKey,
		HTTPClient: &http.Client{Transport: tr}, MaxRetries: []int{-1, 1, 2}[rng.IntN(3)],
		MinRetryBackoff: time.Microsecond, MaxRetryBackoff: 10 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	out := simOutcome{}
	dbPath := filepath.Join(dir, "ledger.db")
	ctx := context.Background()
	for run := 1; run <= 25; run++ {
		l, err := ledger.Open(ctx, dbPath, ledger.Options{Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		runID := simIngest(t, l, sh.path)
		stop, cancelStop := context.WithCancel(ctx)
		calls, cancelCalls := context.WithCancel(ctx)
		tr.mu.Lock()
		tr.crash = func() { cancelStop(); cancelCalls() }
		tr.mu.Unlock()
		r := &batch.Runner{API: client, Ledger: l, Workers: 1, Clock: clock.Now, RetryWait: time.Microsecond, Log: zerolog.Nop()}
		_, runErr := r.Run(stop, calls, runID)
		crashed := calls.Err() != nil
		tr.mu.Lock()
		tr.crash = nil
		tr.mu.Unlock()
		cancelStop()
		cancelCalls()
		_ = runErr // a run cut short by faults is what the resumes are for
		if crashed {
			out.crashes++
		}
		l.Close()
		out.runs = run
		if !crashed && allFinal(sh, ledgerRows(t, dbPath)) {
			break
		}
		clock.Advance(time.Duration(rng.IntN(4)) * time.Minute) // time passes between runs
	}
	out.v = checkInvariant(sh, ledgerRows(t, dbPath), sb.Audit(), "")
	checkKeys(&out.v, dbPath)
	tr.mu.Lock()
	out.trace = tr.trace
	tr.mu.Unlock()
	return out
}

// simIngest records a run of the sheet the way payrun run does: begin the
// run, upsert its rows, retry the rows that needed a person.
func simIngest(t testing.TB, l *ledger.Ledger, path string) int64 {
	t.Helper()
	ctx := context.Background()
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: path, SheetSHA256: "sim", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RecordSheet(ctx, l, run.ID, path, ingest.IngestOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.RetryNeedsAction(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	return run.ID
}

// TestTortureSimulation runs the seeds (short: 10; make torture: SEEDS).
// A failing seed prints itself; PAYRUN_TORTURE_SEED=N replays it.
func TestTortureSimulation(t *testing.T) {
	first, count := uint64(1), seeds()
	if s := os.Getenv(envSeed); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", envSeed, s, err)
		}
		first, count = v, 1
	}
	runs, crashes := 0, 0
	for seed := first; seed < first+uint64(count); seed++ {
		o := simulate(t, seed)
		runs += o.runs
		crashes += o.crashes
		judge(t, "simulation", fmt.Sprintf("%s=%d go test -run TortureSimulation ./batch/torture/", envSeed, seed), o.v)
		if !o.v.ok() {
			t.Logf("seed %d trace (last 30 requests):\n%s", seed, strings.Join(tail(o.trace, 30), "\n"))
		}
	}
	t.Logf("%d seeds, %d runs, %d crashes", count, runs, crashes)
}

// TestTortureSimulationReplays proves a seed replays exactly: the same
// requests, keys, faults and crashes, in the same order.
func TestTortureSimulationReplays(t *testing.T) {
	for _, seed := range []uint64{3, 17} {
		a, b := simulate(t, seed), simulate(t, seed)
		if len(a.trace) < 20 {
			t.Fatalf("seed %d made only %d requests", seed, len(a.trace))
		}
		if strings.Join(a.trace, "\n") != strings.Join(b.trace, "\n") {
			for i := range min(len(a.trace), len(b.trace)) {
				if a.trace[i] != b.trace[i] {
					t.Fatalf("seed %d diverged at request %d:\n  %s\n  %s", seed, i+1, a.trace[i], b.trace[i])
				}
			}
			t.Fatalf("seed %d: %d requests, then %d", seed, len(a.trace), len(b.trace))
		}
	}
}

func tail(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
