package batch

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// A runner whose claims are taken over while its rows are in flight (its
// ledger clock an hour behind, so its leases have always lapsed for a
// runner on the real clock) has its transitions of those rows fenced off:
// it drops them and goes on, where the fenced write used to abort the whole
// run (move wrapped ErrFenced as ErrAborted). A later run on the real clock
// resumes the dropped rows, and every row is paid once.
func TestRunnerDropsRowsTakenOverInFlight(t *testing.T) {
	g := newRig(t, rigOptions{sandbox: sandbox.Config{Faults: sandbox.Faults{Latency: 30 * time.Millisecond}}})
	url := pgtest.URL(t)
	ctx := context.Background()
	behind := func() time.Time { return time.Now().Add(-time.Hour) }
	victim, err := ledger.Open(ctx, url, ledger.Options{Clock: behind})
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	thief, err := ledger.Open(ctx, url, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer thief.Close()
	g.led.Close()
	g.led = victim
	runID := g.ingest(writeSheetCSV(t, g.dir, mixedLines("FN", 12)))

	// The thief takes every row it can and gives it straight back, as a
	// runner that claimed the row and left it would: each steal bumps the
	// row's fencing token.
	stealCtx, stopStealing := context.WithCancel(ctx)
	var stole sync.WaitGroup
	stole.Add(1)
	go func() {
		defer stole.Done()
		for stealCtx.Err() == nil {
			rows, err := thief.ClaimRows(stealCtx, runID, "thief", 50, time.Minute, nil)
			for _, c := range rows {
				thief.ReleaseClaim(ctx, c.Claim)
			}
			if err != nil && stealCtx.Err() == nil {
				t.Errorf("thief: %v", err)
				return
			}
			time.Sleep(40 * time.Millisecond)
		}
	}()
	var logs lockedBuffer
	r := g.runner(4)
	r.Log = zerolog.New(&logs)
	r.ClaimOwner, r.ClaimLease = "victim", time.Minute
	_, err = r.Run(ctx, ctx, runID)
	stopStealing()
	stole.Wait()
	if err != nil {
		t.Fatalf("run whose rows were taken over: %v", err)
	}
	fenced := strings.Count(logs.String(), "taken over by another runner")
	if fenced == 0 {
		t.Fatalf("no row was taken over in flight; the test proves nothing\n%s", logs.String())
	}
	t.Logf("%d transitions fenced off", fenced)

	// The next run, on the real clock, resumes the dropped rows.
	again, err := ledger.Open(ctx, url, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	r2 := g.runner(4)
	r2.Ledger = again
	r2.ClaimOwner = "next"
	st, err := r2.Run(ctx, ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	for s, n := range st.Counts {
		if !s.Final() && n > 0 {
			t.Errorf("%d rows left %s", n, s)
		}
	}
	g.led = again
	checkAgreement(t, g.srv.Audit(), g.rows(runID))
}
