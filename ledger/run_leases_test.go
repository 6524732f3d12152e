package ledger_test

import (
	"context"
	"testing"
	"time"
)

// A runner's run lease is live while it renews it, lapses when it stops
// (the runner died), and goes when the runner ends it; a lease lapsed a
// day is swept by the next runner's.
func TestRunLeases(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clock := &stepClock{t: time.Date(2026, 6, 30, 9, 0, 0, 0, time.UTC)}
		loc := b.location(t)
		l := openWithClock(t, loc, clock.Now)
		run := beginRun(t, l)
		if live, err := l.LiveRunLeases(ctx); err != nil || len(live) != 0 {
			t.Fatalf("leases of a new ledger: %v, %v", live, err)
		}
		if err := l.HoldRunLease(ctx, "host-a/1/aa", run.ID, "payrun run june.xlsx", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		clock.advance(time.Second)
		if err := l.HoldRunLease(ctx, "host-b/2/bb", run.ID, "payrun inbox /srv/inbox", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		live, err := l.LiveRunLeases(ctx)
		if err != nil || len(live) != 2 || live[0].Owner != "host-a/1/aa" || live[0].RunID != run.ID ||
			live[0].Command != "payrun run june.xlsx" || !live[0].Until.Equal(live[0].Started.Add(30*time.Second)) {
			t.Fatalf("live leases = %+v, %v", live, err)
		}
		clock.advance(20 * time.Second)
		if ok, err := l.RenewRunLease(ctx, "host-a/1/aa", 30*time.Second); !ok || err != nil {
			t.Fatalf("renew = %v, %v", ok, err)
		}
		clock.advance(20 * time.Second) // B stopped renewing 41 s ago: lapsed
		if live, _ := l.LiveRunLeases(ctx); len(live) != 1 || live[0].Owner != "host-a/1/aa" {
			t.Errorf("after B's lease lapsed: %+v, want A's alone", live)
		}
		if err := l.EndRunLease(ctx, "host-a/1/aa"); err != nil {
			t.Fatal(err)
		}
		if ok, err := l.RenewRunLease(ctx, "host-a/1/aa", 30*time.Second); ok || err != nil {
			t.Errorf("renew after the end = %v, %v; want nothing to renew", ok, err)
		}
		if live, _ := l.LiveRunLeases(ctx); len(live) != 0 {
			t.Errorf("after A ended: %+v", live)
		}
		clock.advance(25 * time.Hour)
		if err := l.HoldRunLease(ctx, "host-c/3/cc", run.ID, "payrun run june.xlsx", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		l.Close()
		var n int
		if err := rawDB(t, loc).QueryRow(`SELECT count(*) FROM run_leases`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d run leases kept, %v; want B's lapsed one swept, C's alone", n, err)
		}
	})
}
