package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
)

// setClock is a clock tests move by hand.
type setClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *setClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *setClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openPair opens one ledger file twice, as two console processes would: two
// connection pools and two writers on one file, sharing a clock.
func openPair(t *testing.T, be backend) (a, b *ledger.Ledger, path string, clk *setClock) {
	t.Helper()
	clk = &setClock{t: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	path = be.location(t)
	open := func() *ledger.Ledger {
		l, err := ledger.Open(context.Background(), path, ledger.Options{Clock: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	return open(), open(), path, clk
}

const sessID = "k3Jq9-session-id-for-tests-0123456789abcdefgh"

func TestConsoleSessionSharedAndOnlyHashed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a, b, path, clk := openPair(t, be)
		s, err := a.CreateConsoleSession(ctx, sessID, ledger.ConsoleSession{User: "Alice", Role: ledger.RolePreparer, Cred: "cred1"}, time.Hour, 12*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Expires.Equal(s.Created.Add(time.Hour)) || !s.Ends.Equal(s.Created.Add(12*time.Hour)) {
			t.Fatalf("created %+v", s)
		}
		got, err := b.ConsoleSession(ctx, sessID, time.Hour)
		if err != nil || got.User != "Alice" || got.Role != ledger.RolePreparer || got.Cred != "cred1" {
			t.Fatalf("session on the other handle = %+v, %v", got, err)
		}

		// The file holds the id's hash and nothing the id can be had from.
		db := rawDB(t, path)
		rs, err := db.Query(`SELECT * FROM console_sessions`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		n := 0
		for rs.Next() {
			n++
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				text := fmt.Sprint(v)
				if bs, ok := v.([]byte); ok {
					text = string(bs)
				}
				if strings.Contains(text, sessID) || strings.Contains(text, sessID[:16]) {
					t.Errorf("column %s holds the session id: %q", cols[i], text)
				}
				if cols[i] == "id_hash" && text != ledger.SessionIDHash(sessID) {
					t.Errorf("id_hash = %q, want the SHA-256 of the id", text)
				}
				// The stored hash is no key: presented as an id it names
				// nothing.
				if _, err := a.ConsoleSession(ctx, text, time.Hour); !errors.Is(err, ledger.ErrNotFound) {
					t.Errorf("column %s's value taken as a session id: %v, want ErrNotFound", cols[i], err)
				}
			}
		}
		rs.Close()
		if n != 1 {
			t.Fatalf("%d session rows, want 1", n)
		}

		// Dropped on one handle, gone on the other.
		if err := b.DropConsoleSession(ctx, sessID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ConsoleSession(ctx, sessID, time.Hour); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("session after a drop on the other handle: %v, want ErrNotFound", err)
		}
		_ = clk
	})
}

// TestConsoleSessionTouchThrottled: a use within SessionTouchEvery of the
// recorded one writes nothing; a later one moves the idle expiry; idle and
// maximum age both end a session.
func TestConsoleSessionTouchThrottled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a, _, path, clk := openPair(t, be)
		s0, err := a.CreateConsoleSession(ctx, sessID, ledger.ConsoleSession{User: "bob", Role: ledger.RoleApprover, Cred: "c"}, time.Hour, 3*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, path)
		db.SetMaxOpenConns(1) // data_version is per connection
		// SQLite counts commits by others in data_version; PostgreSQL
		// gives an updated row a new xmin.
		probe := `PRAGMA data_version`
		if be.name == "postgres" {
			probe = `SELECT xmin::text::bigint FROM console_sessions`
		}
		changes := func() int64 {
			var n int64
			if err := db.QueryRow(probe).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		stored := func() string {
			var seen string
			if err := db.QueryRow(`SELECT last_seen FROM console_sessions`).Scan(&seen); err != nil {
				t.Fatal(err)
			}
			return seen
		}
		before, v0 := stored(), changes()
		for range 5 {
			clk.advance(10 * time.Second)
			if _, err := a.ConsoleSession(ctx, sessID, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if stored() != before || changes() != v0 {
			t.Fatalf("uses within %v of the last recorded one wrote the ledger", ledger.SessionTouchEvery)
		}
		clk.advance(20 * time.Second) // 70 s after sign-in
		s, err := a.ConsoleSession(ctx, sessID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if stored() == before || !s.Expires.Equal(s0.Created.Add(70*time.Second+time.Hour)) {
			t.Fatalf("use after %v: last_seen %s, expires %v; want it recorded and the idle expiry moved", ledger.SessionTouchEvery, stored(), s.Expires)
		}

		// Idle for the TTL: gone, and removed.
		clk.advance(time.Hour)
		if _, err := a.ConsoleSession(ctx, sessID, time.Hour); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("session idle an hour: %v, want ErrNotFound", err)
		}
		var n int
		db.QueryRow(`SELECT count(*) FROM console_sessions`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d rows after the expired session was refused, want 0", n)
		}

		// In use all along, it still ends at its maximum age.
		if _, err := a.CreateConsoleSession(ctx, sessID+"2", ledger.ConsoleSession{User: "bob", Role: ledger.RoleApprover, Cred: "c"}, time.Hour, 3*time.Hour); err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			clk.advance(30 * time.Minute)
			_, err := a.ConsoleSession(ctx, sessID+"2", time.Hour)
			if i < 5 && err != nil {
				t.Fatalf("active session after %d min: %v", (i+1)*30, err)
			}
			if i == 5 {
				if !errors.Is(err, ledger.ErrNotFound) {
					t.Fatalf("active session after 3 h: %v, want ErrNotFound (maximum age)", err)
				}
				break
			}
		}
	})
}

func TestConsoleSessionsDropOfUserAndSweep(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a, b, _, clk := openPair(t, be)
		mk := func(id, user string, idle time.Duration) {
			t.Helper()
			if _, err := a.CreateConsoleSession(ctx, id, ledger.ConsoleSession{User: user, Role: ledger.RoleViewer, Cred: "c"}, idle, 12*time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		mk("alice-session-one-0123456789", "Alice", time.Hour)
		mk("alice-session-two-0123456789", "alice", time.Hour)
		mk("bob-session-one-0123456789ab", "bob", time.Hour)
		mk("bob-session-short-0123456789", "bob", time.Minute)
		n, err := b.DropConsoleSessionsOf(ctx, "ALICE")
		if err != nil || n != 2 {
			t.Fatalf("drop sessions of ALICE = %d, %v; want both of alice's", n, err)
		}
		clk.advance(2 * time.Minute)
		if n, err := b.SweepConsoleSessions(ctx); err != nil || n != 1 {
			t.Fatalf("sweep = %d, %v; want the one idle past its TTL", n, err)
		}
		if _, err := a.ConsoleSession(ctx, "bob-session-one-0123456789ab", time.Hour); err != nil {
			t.Fatalf("bob's live session after the sweep: %v", err)
		}
		if _, err := a.CreateConsoleSession(ctx, "short", ledger.ConsoleSession{User: "bob", Cred: "c"}, time.Hour, time.Hour); err == nil {
			t.Fatal("a short session id was accepted")
		}
	})
}

// TestSigninCountersExactAcrossHandles: attempts counted from two handles
// on one file at once are all counted, none twice.
func TestSigninCountersExactAcrossHandles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a, b, _, clk := openPair(t, be)
		keys := []string{"name:bob", "addr:192.0.2.7"}
		var wg sync.WaitGroup
		for i := range 40 {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := l.UpdateSigninCounters(ctx, keys, func(now time.Time, cs []ledger.SigninCounter) error {
					for j := range cs {
						cs[j].Fails++
						cs[j].LastFailure = now
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		cs, _, err := a.SigninCounters(ctx, keys...)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Fails != 40 || !c.LastFailure.Equal(clk.Now()) {
				t.Errorf("%s: %d failures at %v, want 40 at %v", c.Key, c.Fails, c.LastFailure, clk.Now())
			}
		}
		// An update that fails writes nothing.
		boom := errors.New("boom")
		if err := b.UpdateSigninCounters(ctx, keys[:1], func(time.Time, []ledger.SigninCounter) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("failed update = %v", err)
		}
		// One left in flight by a console that died: swept once stale.
		if err := b.UpdateSigninCounters(ctx, []string{"name:pat"}, func(now time.Time, cs []ledger.SigninCounter) error {
			cs[0].InFlight, cs[0].InFlightFrom = 1, now
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		clk.advance(2 * time.Hour)
		if n, err := a.SweepSigninCounters(ctx, time.Hour, time.Minute); err != nil || n != 3 {
			t.Fatalf("sweep = %d, %v; want the two old counters and the stale in-flight one", n, err)
		}
		cs, _, _ = a.SigninCounters(ctx, "name:pat")
		if cs[0].InFlight != 0 || cs[0].Fails != 0 {
			t.Fatalf("swept counter reads %+v", cs[0])
		}
	})
}
