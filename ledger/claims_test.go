package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// openPGAt opens the PostgreSQL ledger at url on clock.
func openPGAt(t *testing.T, url string, clock func() time.Time) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), url, ledger.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Two handles (two runners) claiming a run's rows at the same time each get
// rows the other did not: every row is claimed once.
func TestClaimRowsDisjointAcrossHandles(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	l1 := openPGAt(t, url, nil)
	l2 := openPGAt(t, url, nil)
	run := beginRun(t, l1)
	const n = 60
	var in []ledger.RowInput
	for i := range n {
		in = append(in, input(fmt.Sprintf("c%02d", i), i+2, "1.00"))
	}
	upsert(t, l1, run.ID, in...)
	var (
		mu  sync.Mutex
		got = map[string]string{}
		wg  sync.WaitGroup
	)
	for h, l := range []*ledger.Ledger{l1, l2} {
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := fmt.Sprintf("runner-%d", h)
				for {
					rows, err := l.ClaimRows(ctx, run.ID, owner, 4, time.Minute, nil)
					if err != nil {
						t.Errorf("handle %d/%d: %v", h, g, err)
						return
					}
					if len(rows) == 0 {
						return
					}
					mu.Lock()
					for _, r := range rows {
						if prev, ok := got[r.Row.ID]; ok {
							t.Errorf("row %s claimed by %s and again by %s", r.Row.ID, prev, owner)
						}
						got[r.Row.ID] = owner
						if r.Claim.Token != 1 {
							t.Errorf("row %s: first claim has token %d, want 1", r.Row.ID, r.Claim.Token)
						}
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if len(got) != n {
		t.Fatalf("%d rows claimed, want %d", len(got), n)
	}
	per := map[string]int{}
	for _, o := range got {
		per[o]++
	}
	t.Logf("claims per runner: %v", per)
}

// A claim whose lease lapsed is taken over with a higher fencing token; the
// old owner's transition is then refused with a *FencedError and writes
// nothing, while the new owner's goes through. A live lease is not taken,
// and renewing keeps it live.
func TestClaimLapsedLeaseTakenOverAndFenced(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	clock := newClock()
	la := openPGAt(t, url, clock.Now)
	lb := openPGAt(t, url, clock.Now)
	run := beginRun(t, la)
	upsert(t, la, run.ID, input("f1", 2, "1.00"))
	const lease = 30 * time.Second

	a, err := la.ClaimRows(ctx, run.ID, "A", 10, lease, nil)
	if err != nil || len(a) != 1 {
		t.Fatalf("A claims: %v, %v", a, err)
	}
	if b, err := lb.ClaimRows(ctx, run.ID, "B", 10, lease, nil); err != nil || len(b) != 0 {
		t.Fatalf("B claimed a row under A's live lease: %v, %v", b, err)
	}
	clock.mu.Lock()
	clock.t = clock.t.Add(20 * time.Second)
	clock.mu.Unlock()
	if n, err := la.RenewClaims(ctx, "A", lease); err != nil || n != 1 {
		t.Fatalf("A renews: %d, %v", n, err)
	}
	clock.mu.Lock()
	clock.t = clock.t.Add(20 * time.Second) // 40 s after the claim, 20 s after the renewal
	clock.mu.Unlock()
	if b, err := lb.ClaimRows(ctx, run.ID, "B", 10, lease, nil); err != nil || len(b) != 0 {
		t.Fatalf("B claimed a row under A's renewed lease: %v, %v", b, err)
	}
	// A stalls; its lease lapses and B takes the row over.
	clock.mu.Lock()
	clock.t = clock.t.Add(lease)
	clock.mu.Unlock()
	b, err := lb.ClaimRows(ctx, run.ID, "B", 10, lease, nil)
	if err != nil || len(b) != 1 {
		t.Fatalf("B takes over: %v, %v", b, err)
	}
	if b[0].Claim.Token <= a[0].Claim.Token {
		t.Fatalf("takeover token %d, not above the lapsed one %d", b[0].Claim.Token, a[0].Claim.Token)
	}
	// A wakes up and writes with its old token: refused, nothing written.
	_, err = la.Transition(ledger.WithClaim(ctx, a[0].Claim), "f1", ledger.StateNew, ledger.StateUserReady,
		ledger.RowUpdate{UserToken: new("usr_A")}, ledger.Event{})
	var fe *ledger.FencedError
	if !errors.As(err, &fe) || !errors.Is(err, ledger.ErrFenced) || fe.Owner != "B" || fe.Current != b[0].Claim.Token {
		t.Fatalf("A's transition after the takeover = %v, want a FencedError naming B", err)
	}
	if r, err := la.Row(ctx, "f1"); err != nil || r.State != ledger.StateNew || r.UserToken != "" {
		t.Fatalf("row after A's fenced write: %+v, %v", r, err)
	}
	if _, err := lb.Transition(ledger.WithClaim(ctx, b[0].Claim), "f1", ledger.StateNew, ledger.StateUserReady,
		ledger.RowUpdate{UserToken: new("usr_B")}, ledger.Event{}); err != nil {
		t.Fatalf("B's transition: %v", err)
	}
	// A's renewal no longer covers the row, and its release leaves B's claim.
	if n, err := la.RenewClaims(ctx, "A", lease); err != nil || n != 0 {
		t.Fatalf("A renews after losing the row: %d, %v", n, err)
	}
	if err := la.ReleaseClaim(ctx, a[0].Claim); err != nil {
		t.Fatal(err)
	}
	if n, err := la.HeldElsewhere(ctx, run.ID, "A", nil); err != nil || n != 1 {
		t.Fatalf("rows held by others than A: %d, %v, want B's 1", n, err)
	}
	if n, err := la.HeldElsewhere(ctx, run.ID, "A", []string{"f1"}); err != nil || n != 0 {
		t.Fatalf("rows held by others than A, f1 excepted: %d, %v", n, err)
	}
	// A stale state under a live claim is still a StaleStateError.
	_, err = lb.Transition(ledger.WithClaim(ctx, b[0].Claim), "f1", ledger.StateNew, ledger.StateUserReady, ledger.RowUpdate{}, ledger.Event{})
	if !errors.Is(err, ledger.ErrStaleState) || errors.Is(err, ledger.ErrFenced) {
		t.Fatalf("B's repeated transition = %v, want ErrStaleState", err)
	}
}
