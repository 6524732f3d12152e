package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// openBusy opens the PostgreSQL ledger at url with the given lock wait.
func openBusy(t *testing.T, url string, busy time.Duration) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), url, ledger.Options{BusyTimeout: busy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// countEvents counts the events whose message is msg.
func countEvents(t *testing.T, l *ledger.Ledger, msg string) int {
	t.Helper()
	n := 0
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Message == msg {
			n++
		}
	}
	return n
}

// A process frozen inside a write transaction (here: its write function
// sleeps) no longer holds every other process's writes until it wakes: the
// server aborts its transaction after half the lock wait and frees the
// write lock, another process's write goes through well within its own
// lock wait, and the frozen write fails when it wakes, having written
// nothing. Before the writer's sessions had
// idle_in_transaction_session_timeout, the other write waited out its
// lock_timeout and failed.
func TestPostgresFrozenWriterLosesTheWriteLock(t *testing.T) {
	url := pgtest.URL(t)
	const busy = 4 * time.Second // the frozen one is cut at 2 s
	frozen, other := openBusy(t, url, busy), openBusy(t, url, busy)
	ctx := context.Background()
	inside := make(chan struct{})
	frozenErr := make(chan error, 1)
	go func() {
		frozenErr <- frozen.WriteInside(ctx, false, "frozen write", func() {
			close(inside)
			time.Sleep(2 * busy)
		})
	}()
	<-inside
	start := time.Now()
	if _, err := other.AppendEvent(ctx, ledger.Event{Kind: ledger.EventAPICall, Message: "other write"}); err != nil {
		t.Fatalf("the other process's write, %v after the frozen one took the lock: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if d := time.Since(start); d > busy-500*time.Millisecond {
		t.Errorf("the other process's write took %v: the frozen writer held the lock", d)
	}
	err := <-frozenErr
	if err == nil {
		t.Fatal("the frozen write committed after its transaction was aborted")
	}
	t.Logf("the frozen write, on waking: %v", err)
	if n := countEvents(t, other, "frozen write"); n != 0 {
		t.Errorf("%d events of the frozen write were recorded, want 0", n)
	}
	if n := countEvents(t, other, "other write"); n != 1 {
		t.Errorf("%d events of the other write, want 1", n)
	}
	// The frozen process's ledger writes again on a new session.
	if _, err := frozen.AppendEvent(ctx, ledger.Event{Kind: ledger.EventAPICall, Message: "after waking"}); err != nil {
		t.Errorf("a write after waking: %v", err)
	}
}

// A write waits for the write lock past lock_timeout while another
// process's big write holds it busy (recording a big sheet on a loaded
// server): it is a frozen holder, not a busy one, that loses the lock.
// Before, the wait was lock_timeout, and a second runner starting beside
// the first failed while the first recorded a 5,000-row sheet.
func TestPostgresWriteWaitsOutABusyWrite(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	const busy = time.Second
	a, b := openBusy(t, url, busy), openBusy(t, url, busy)
	aErr := make(chan error, 1)
	go func() { aErr <- a.WriteBusy(ctx, 3*busy) }()
	time.Sleep(busy / 2) // a holds the lock
	if _, err := b.AppendEvent(ctx, ledger.Event{Kind: ledger.EventAPICall, Message: "after the big write"}); err != nil {
		t.Errorf("a write behind a busy one: %v", err)
	}
	if err := <-aErr; err != nil {
		t.Errorf("the busy write: %v", err)
	}
}

// Two runners' transitions of rows each has claimed overlap: one
// process's claimed write blocked inside its transaction does not hold the
// other's claimed transition back (both take the write lock in shared
// mode), while a write that is not a claimed one (beginning a run) still
// waits for it. Before, every write took the lock exclusively, and the
// second runner's transition waited for the first's transaction.
func TestPostgresClaimedWritesShareTheWriteLock(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	a, b := openBusy(t, url, 20*time.Second), openBusy(t, url, 20*time.Second)
	run := beginRun(t, a)
	upsert(t, a, run.ID, input("ra", 2, "1.00"), input("rb", 3, "2.00"))
	ca, err := a.ClaimRows(ctx, run.ID, "A", 1, time.Minute, nil)
	if err != nil || len(ca) != 1 {
		t.Fatalf("A claims: %v, %v", ca, err)
	}
	cb, err := b.ClaimRows(ctx, run.ID, "B", 1, time.Minute, nil)
	if err != nil || len(cb) != 1 || cb[0].Row.ID == ca[0].Row.ID {
		t.Fatalf("B claims: %v, %v", cb, err)
	}
	inside, wake := make(chan struct{}), make(chan struct{})
	aErr := make(chan error, 1)
	go func() {
		aErr <- a.WriteInside(ctx, true, "A's claimed write", func() {
			close(inside)
			<-wake
		})
	}()
	<-inside
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := b.Transition(ledger.WithClaim(ctx, cb[0].Claim), cb[0].Row.ID, ledger.StateNew, ledger.StateNew,
			ledger.RowUpdate{AddAttempts: 1}, ledger.Event{Kind: ledger.EventAPICall, IdempotencyKey: cb[0].Row.ID})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("B's claimed transition: %v", err)
		}
		t.Logf("B's claimed transition went through in %v while A's was open", time.Since(start).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		close(wake)
		<-aErr
		t.Fatalf("B's claimed transition waited %v for A's claimed write", time.Since(start).Round(time.Millisecond))
	}
	// An exclusive write waits for A's transaction.
	excl := make(chan error, 1)
	go func() {
		_, err := b.BeginRun(ctx, ledger.RunInfo{SheetName: "s.xlsx", SheetSHA256: "x"})
		excl <- err
	}()
	select {
	case err := <-excl:
		t.Errorf("B began a run (%v) while A held the write lock shared", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(wake)
	if err := <-aErr; err != nil {
		t.Errorf("A's claimed write: %v", err)
	}
	if err := <-excl; err != nil {
		t.Errorf("B's run after A's commit: %v", err)
	}
	row, err := a.Row(ctx, cb[0].Row.ID)
	if err != nil || row.Attempts != 1 {
		t.Errorf("B's row: attempts %d, %v; want 1", row.Attempts, err)
	}
}

// Two processes writing at once what shares the write lock (claimed
// transitions with requests and events, claim renewals and releases, event
// appends, and payee token and route upserts on the same payees in
// opposite orders) never deadlock: no write fails, and every claimed
// row's transitions all land.
func TestPostgresSharedWritesDoNotDeadlock(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	ls := []*ledger.Ledger{openBusy(t, url, 30*time.Second), openBusy(t, url, 30*time.Second)}
	run := beginRun(t, ls[0])
	const perRunner, steps, payees = 12, 4, 6
	var in []ledger.RowInput
	for i := range 2 * perRunner {
		in = append(in, input(fmt.Sprintf("d%02d", i), i+2, "1.00"))
	}
	upsert(t, ls[0], run.ID, in...)
	claims := make([][]ledger.ClaimedRow, 2)
	for h, l := range ls {
		c, err := l.ClaimRows(ctx, run.ID, fmt.Sprintf("runner%d", h), perRunner, time.Minute, nil)
		if err != nil || len(c) != perRunner {
			t.Fatalf("runner %d claims %d rows: %v", h, len(c), err)
		}
		claims[h] = c
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for h, l := range ls {
		for i, c := range claims[h] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx := ledger.WithClaim(ctx, c.Claim)
				for s := range steps {
					p := (i + s) % payees
					if h == 1 {
						p = payees - 1 - p
					}
					user := fmt.Sprintf("payee%d", p)
					if _, err := l.Transition(cctx, c.Row.ID, ledger.StateNew, ledger.StateNew, ledger.RowUpdate{AddAttempts: 1},
						ledger.Event{Kind: ledger.EventAPICall, IdempotencyKey: c.Row.ID}); err != nil {
						errs <- fmt.Errorf("runner %d transition %s: %w", h, c.Row.ID, err)
					}
					if err := l.PutUserToken(ctx, user, fmt.Sprintf("tok-%d-%d", h, s), user+"@example.com"); err != nil {
						errs <- fmt.Errorf("runner %d user %s: %w", h, user, err)
					}
					if err := l.PutPayeeRoute(ctx, ledger.PayeeRoute{PayeeRouteKey: ledger.PayeeRouteKey{InternalUserID: user, Country: "MEX", Currency: "MXN", DeliveryType: "BANK_DEPOSIT"},
						UserToken: "u", DestinationToken: "d", Fingerprint: "f"}); err != nil {
						errs <- fmt.Errorf("runner %d route %s: %w", h, user, err)
					}
					if _, err := l.AppendEvent(ctx, ledger.Event{Kind: ledger.EventAPICall, TransferID: c.Row.ID, Message: "step"}); err != nil {
						errs <- fmt.Errorf("runner %d event: %w", h, err)
					}
				}
				if _, err := l.RenewClaims(ctx, c.Claim.Owner, time.Minute); err != nil {
					errs <- fmt.Errorf("runner %d renew: %w", h, err)
				}
				if err := l.ReleaseClaim(ctx, c.Claim); err != nil {
					errs <- fmt.Errorf("runner %d release: %w", h, err)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Every claim was released: both runners may claim every row again.
	if c, err := ls[0].ClaimRows(ctx, run.ID, "after", 2*perRunner, time.Minute, nil); err != nil || len(c) != 2*perRunner {
		t.Errorf("claims after the releases: %d, %v; want %d", len(c), err, 2*perRunner)
	}
	for h := range claims {
		for _, c := range claims[h] {
			row, err := ls[0].Row(ctx, c.Row.ID)
			if err != nil || row.Attempts != steps {
				t.Errorf("%s: attempts %d, %v; want %d", c.Row.ID, row.Attempts, err, steps)
			}
		}
	}
}
