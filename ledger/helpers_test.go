package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
	"github.com/shopspring/decimal"
)

// fakeClock is a deterministic clock: each call advances it by a millisecond.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// backend is one storage engine the shared ledger suite runs on.
type backend struct {
	name string
	// location returns where a fresh, empty ledger lives: a file path
	// in t.TempDir() on SQLite, a new schema's URL on PostgreSQL
	// (which skips t when no server can be had, see internal/pgtest).
	location func(t testing.TB) string
}

// backends are SQLite and PostgreSQL.
var backends = []backend{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "payrun.ledger") }},
	{"postgres", func(t testing.TB) string { return pgtest.URL(t) }},
}

// forEachBackend runs fn as a subtest on each backend: the ledger's
// promises (states, compare-and-set transitions, events, plans, users)
// hold the same on both.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// openTemp opens a fresh ledger on b and closes it at cleanup; loc is
// where it lives, for reopening it with openAt.
func (b backend) openTemp(t testing.TB) (l *ledger.Ledger, loc string) {
	t.Helper()
	loc = b.location(t)
	return openAt(t, loc), loc
}

// openTemp opens a fresh ledger in t.TempDir() and closes it at cleanup.
func openTemp(t testing.TB) (*ledger.Ledger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payrun.ledger")
	l := openAt(t, path)
	return l, path
}

func openAt(t testing.TB, path string) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(context.Background(), path, ledger.Options{Clock: newClock().Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// rawDB opens the ledger at path (a file or a postgres:// URL) directly,
// for checks the API deliberately does not offer (integrity_check,
// tampering with events, user_version).
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := ledger.OpenRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func beginRun(t testing.TB, l *ledger.Ledger) ledger.Run {
	t.Helper()
	run, err := l.BeginRun(context.Background(), ledger.RunInfo{
		SheetName: "march.xlsx", SheetSHA256: "abc123", Operator: "finance@host", Environment: "sandbox",
		BalancesBefore: ledger.Balances{"USD": decimal.RequireFromString("1000000.00")},
	})
	if err != nil {
		t.Fatalf("BeginRun: %v", err)
	}
	return run
}

// input builds a sheet row; amount is part of its fingerprint.
func input(id string, line int, amount string) ledger.RowInput {
	return ledger.RowInput{
		ID: id, Line: line,
		Fingerprint: ledger.Fingerprint(id, "payout", "u-"+id, amount, "USD", "MXN"),
		Input: []ledger.Column{
			{Header: "client_transfer_id", Value: id},
			{Header: "amount", Value: amount},
			{Header: "notes", Value: "line " + fmt.Sprint(line)},
		},
		Method: "payout", InternalUserID: "u-" + id, Amount: decimal.RequireFromString(amount),
		SourceCurrency: "USD", DestinationCurrency: "MXN", AmountIs: "source",
	}
}

func upsert(t testing.TB, l *ledger.Ledger, runID int64, in ...ledger.RowInput) ledger.UpsertResult {
	t.Helper()
	res, err := l.UpsertRows(context.Background(), runID, in)
	if err != nil {
		t.Fatalf("UpsertRows: %v", err)
	}
	return res
}

// pathTo returns legal moves from new to target (breadth-first).
func pathTo(target ledger.State) []ledger.State {
	prev := map[ledger.State]ledger.State{}
	seen := map[ledger.State]bool{ledger.StateNew: true}
	queue := []ledger.State{ledger.StateNew}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s == target {
			var path []ledger.State
			for s != ledger.StateNew {
				path = append([]ledger.State{s}, path...)
				s = prev[s]
			}
			return path
		}
		for _, n := range ledger.States {
			if n != s && !seen[n] && ledger.CanTransition(s, n) {
				seen[n], prev[n] = true, s
				queue = append(queue, n)
			}
		}
	}
	panic("unreachable state " + target)
}

// walk moves row id from new to target through legal transitions.
func walk(t testing.TB, l *ledger.Ledger, id string, target ledger.State) ledger.Row {
	t.Helper()
	from := ledger.StateNew
	var row ledger.Row
	var err error
	if target == ledger.StateNew {
		row, err = l.Row(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return row
	}
	for _, to := range pathTo(target) {
		row, err = l.Transition(context.Background(), id, from, to, ledger.RowUpdate{}, ledger.Event{})
		if err != nil {
			t.Fatalf("walk %s: %s -> %s: %v", id, from, to, err)
		}
		from = to
	}
	return row
}
