package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
)

// stepClock is a clock a test moves on by hand, for leases that lapse.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openWithClock(t *testing.T, loc string, clock func() time.Time) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), loc, ledger.Options{Clock: clock})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// A sheet's lease is held by one inbox at a time: a second take fails while
// it is live and names the holder; once it lapses the next take wins it
// with a higher generation, and the old holder's renewal and release are
// fenced off; a release lets the next take in at once.
func TestSheetLeaseOneHolder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		clock := &stepClock{t: time.Date(2026, 6, 30, 9, 0, 0, 0, time.UTC)}
		l := openWithClock(t, b.location(t), clock.Now)
		const key, lease = "sheet-sha-1", 30 * time.Second
		a, ok, err := l.TakeSheetLease(ctx, key, "june.xlsx", "host-a/1/aa", lease)
		if err != nil || !ok || a.Gen != 1 || a.Owner != "host-a/1/aa" || !a.Until.Equal(clock.Now().Add(lease)) {
			t.Fatalf("first take = %+v, %v, %v", a, ok, err)
		}
		cur, ok, err := l.TakeSheetLease(ctx, key, "june.xlsx", "host-b/2/bb", lease)
		if err != nil || ok || cur.Owner != "host-a/1/aa" || cur.Gen != 1 || !cur.Until.Equal(a.Until) {
			t.Fatalf("take of a held lease = %+v, %v, %v; want refused, naming host-a", cur, ok, err)
		}
		clock.advance(20 * time.Second)
		if a, err = l.RenewSheetLease(ctx, a, lease); err != nil || !a.Until.Equal(clock.Now().Add(lease)) {
			t.Fatalf("renew = %+v, %v", a, err)
		}
		clock.advance(20 * time.Second) // 40 s after the take, 20 s after the renewal: still live
		if _, ok, _ := l.TakeSheetLease(ctx, key, "june.xlsx", "host-b/2/bb", lease); ok {
			t.Fatal("a renewed lease was taken")
		}
		clock.advance(11 * time.Second) // lapsed: host A stopped renewing
		bl, ok, err := l.TakeSheetLease(ctx, key, "june.xlsx", "host-b/2/bb", lease)
		if err != nil || !ok || bl.Gen != 2 {
			t.Fatalf("take of a lapsed lease = %+v, %v, %v; want taken, generation 2", bl, ok, err)
		}
		if _, err := l.RenewSheetLease(ctx, a, lease); !errors.Is(err, ledger.ErrSheetLeaseLost) {
			t.Errorf("old holder's renewal = %v, want ErrSheetLeaseLost", err)
		}
		if err := l.ReleaseSheetLease(ctx, a); !errors.Is(err, ledger.ErrSheetLeaseLost) {
			t.Errorf("old holder's release = %v, want ErrSheetLeaseLost", err)
		}
		if cur, _ := l.SheetLeaseOf(ctx, key); cur.Owner != "host-b/2/bb" || cur.Gen != 2 {
			t.Errorf("after the old holder's attempts: %+v, want host-b's, generation 2", cur)
		}
		if err := l.ReleaseSheetLease(ctx, bl); err != nil {
			t.Fatal(err)
		}
		if cur, err := l.SheetLeaseOf(ctx, key); err != nil || cur.Owner != "" || cur.Gen != 2 || !cur.Until.IsZero() {
			t.Errorf("released lease = %+v, %v", cur, err)
		}
		c, ok, err := l.TakeSheetLease(ctx, key, "june.xlsx", "host-a/3/cc", lease)
		if err != nil || !ok || c.Gen != 3 {
			t.Errorf("take after release = %+v, %v, %v; want taken at once, generation 3", c, ok, err)
		}
		if cur, err := l.SheetLeaseOf(ctx, "never-taken"); err != nil || cur.Owner != "" || cur.Gen != 0 {
			t.Errorf("lease of a sheet never taken = %+v, %v", cur, err)
		}
		if _, _, err := l.TakeSheetLease(ctx, "", "x", "o", lease); err == nil {
			t.Error("take with no key accepted")
		}
	})
}

// Inboxes racing on one sheet, through separate ledger handles (separate
// connections, as on separate hosts), never both take it: for each of 20
// sheets exactly one of 8 takes wins.
func TestSheetLeaseRace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		loc := b.location(t)
		handles := []*ledger.Ledger{openAt(t, loc), openAt(t, loc)}
		for k := range 20 {
			key := fmt.Sprintf("sheet-%d", k)
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				wins []string
			)
			start := make(chan struct{})
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					owner := fmt.Sprintf("host-%d/%d/x", i%2, i)
					_, ok, err := handles[i%2].TakeSheetLease(ctx, key, key+".xlsx", owner, time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						wins = append(wins, owner)
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(wins) != 1 {
				t.Fatalf("%s taken by %v, want exactly one", key, wins)
			}
			if cur, _ := handles[0].SheetLeaseOf(ctx, key); cur.Owner != wins[0] || cur.Gen != 1 {
				t.Errorf("%s: lease %+v, winner %s", key, cur, wins[0])
			}
		}
	})
}

// The table's CHECK constraints refuse a holder without an expiry, an
// expiry without a holder, a held lease at generation 0 and an empty key.
func TestSheetLeaseChecks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l, loc := b.openTemp(t)
		l.Close()
		db := rawDB(t, loc)
		for _, q := range []string{
			`INSERT INTO sheet_leases (sheet_key, lease_owner, lease_until, gen) VALUES ('k1', 'h/1/x', '', 1)`,
			`INSERT INTO sheet_leases (sheet_key, lease_owner, lease_until, gen) VALUES ('k2', '', '2026-06-30T09:00:00.000000000Z', 1)`,
			`INSERT INTO sheet_leases (sheet_key, lease_owner, lease_until, gen) VALUES ('k3', 'h/1/x', '2026-06-30T09:00:00.000000000Z', 0)`,
			`INSERT INTO sheet_leases (sheet_key, gen) VALUES ('k4', -1)`,
			`INSERT INTO sheet_leases (sheet_key) VALUES ('')`,
		} {
			if _, err := db.Exec(q); err == nil {
				t.Errorf("accepted: %s", q)
			}
		}
		if _, err := db.Exec(`INSERT INTO sheet_leases (sheet_key, lease_owner, lease_until, gen) VALUES ('ok', 'h/1/x', '2026-06-30T09:00:00.000000000Z', 1)`); err != nil {
			t.Errorf("a valid lease refused: %v", err)
		}
	})
}
