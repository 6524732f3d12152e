package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/shopspring/decimal"
)

func TestUpdateStatusIgnoresDuplicatesAndStale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		upsert(t, l, run.ID, input("a", 2, "1.00"))
		walk(t, l, "a", ledger.StatePaid)
		t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		steps := []struct {
			status string
			at     time.Time
			want   ledger.StatusWrite
		}{
			{"PENDING", t0, ledger.StatusApplied},
			{"PENDING", t0, ledger.StatusSame},                           // duplicate webhook
			{"COMPLETED", t0.Add(5 * time.Minute), ledger.StatusApplied}, // news
			{"PROCESSING", t0.Add(time.Minute), ledger.StatusStale},      // late, out of order
			{"COMPLETED", t0.Add(6 * time.Minute), ledger.StatusSame},
			{"CANCELLED", t0.Add(5 * time.Minute), ledger.StatusStale},    // not newer than the current status
			{"CANCELLED", t0.Add(30 * time.Minute), ledger.StatusApplied}, // a flip
			{"CANCELLED", t0.Add(30 * time.Minute), ledger.StatusSame},    // its redelivery
		}
		for i, s := range steps {
			w, err := l.UpdateStatus(ctx, "a", s.status, s.at, ledger.Event{Kind: ledger.EventWebhook})
			if err != nil || w != s.want {
				t.Fatalf("step %d %s: %v, %v; want %v", i, s.status, w, err, s.want)
			}
		}
		row, _ := l.Row(ctx, "a")
		if row.State != ledger.StatePaid || row.LaterStatus != "CANCELLED" || !row.LaterStatusAt.Equal(t0.Add(30*time.Minute)) {
			t.Errorf("row = %s %s %v", row.State, row.LaterStatus, row.LaterStatusAt)
		}
		// The runner's own writes (the status a call answered) never touch
		// the later status, however old its copy of the row.
		if _, err := l.Transition(ctx, "a", ledger.StatePaid, ledger.StatePaid, ledger.RowUpdate{MasspayStatus: new("PENDING")}, ledger.Event{}); err != nil {
			t.Fatal(err)
		}
		if row, _ := l.Row(ctx, "a"); row.Status() != "CANCELLED" || row.MasspayStatus != "PENDING" {
			t.Errorf("after the runner wrote PENDING: status %s, answered %s", row.Status(), row.MasspayStatus)
		}
		var got []string
		for ev, err := range l.Events(ctx, ledger.EventFilter{TransferID: "a", Kind: ledger.EventWebhook}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ev.MasspayStatus)
		}
		if len(got) != 3 || got[2] != "CANCELLED" {
			t.Errorf("webhook events = %v", got)
		}
		if _, err := l.UpdateStatus(ctx, "zz", "PENDING", t0, ledger.Event{}); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("unknown row = %v", err)
		}
	})
}

func TestEventsAreAppendOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, path := b.openTemp(t)
		run := beginRun(t, l)
		ev, err := l.AppendEvent(ctx, ledger.Event{RunID: run.ID, Kind: ledger.EventRun, Message: "started", Data: []byte(`{"rows":3}`)})
		if err != nil || ev.Seq == 0 {
			t.Fatalf("AppendEvent = %+v, %v", ev, err)
		}
		if _, err := l.AppendEvent(ctx, ledger.Event{Kind: ledger.EventRun, Data: []byte(`{bad`)}); err == nil {
			t.Error("invalid JSON data accepted")
		}
		if _, err := l.AppendEvent(ctx, ledger.Event{}); err == nil {
			t.Error("event without kind accepted")
		}
		db := rawDB(t, path)
		if _, err := db.Exec(`UPDATE events SET message = 'forged'`); err == nil || !strings.Contains(err.Error(), "events are append-only") {
			t.Error("UPDATE events succeeded")
		}
		if _, err := db.Exec(`DELETE FROM events`); err == nil || !strings.Contains(err.Error(), "events are append-only") {
			t.Error("DELETE FROM events succeeded")
		}
		for got, err := range l.Events(ctx, ledger.EventFilter{RunID: run.ID}) {
			if err != nil || got.Message != "started" || got.Seq != ev.Seq || string(got.Data) != `{"rows":3}` {
				t.Errorf("event after tampering = %+v, %v", got, err)
			}
		}
	})
}

func TestRunsLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		if _, err := l.LatestRun(ctx); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("LatestRun on empty = %v", err)
		}
		r1 := beginRun(t, l)
		r2 := beginRun(t, l)
		fin, err := l.FinishRun(ctx, r2.ID, ledger.RunFinish{Status: ledger.RunFinished,
			BalancesAfter: ledger.Balances{"USD": decimal.RequireFromString("999989.50")}})
		if err != nil || fin.Status != ledger.RunFinished || fin.FinishedAt.IsZero() ||
			fin.BalancesAfter["USD"].StringFixed(2) != "999989.50" || fin.BalancesBefore["USD"].String() != "1000000" {
			t.Errorf("FinishRun = %+v, %v", fin, err)
		}
		if _, err := l.FinishRun(ctx, 42, ledger.RunFinish{Status: ledger.RunAborted}); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("FinishRun(42) = %v", err)
		}
		latest, _ := l.LatestRun(ctx)
		runs, _ := l.Runs(ctx)
		if latest.ID != r2.ID || len(runs) != 2 || runs[0].ID != r1.ID || runs[0].Status != ledger.RunRunning {
			t.Errorf("latest %+v runs %+v", latest, runs)
		}
	})
}

func TestUserTokenCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		if _, ok, err := l.UserToken(ctx, "emp-1"); ok || err != nil {
			t.Errorf("UserToken before put = %v, %v", ok, err)
		}
		if err := l.PutUserToken(ctx, "emp-1", "usr_1", "a@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := l.PutUserToken(ctx, "emp-1", "usr_2", "a@example.com"); err != nil {
			t.Fatal(err)
		}
		if tok, ok, err := l.UserToken(ctx, "emp-1"); tok != "usr_2" || !ok || err != nil {
			t.Errorf("UserToken = %q %v %v", tok, ok, err)
		}
	})
}

func TestKeys(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{ledger.PayoutKey("T-1", 1), "T-1"},
		{ledger.PayoutKey("T-1", 2), "T-1#2"},
		{ledger.CommitKey("T-1", 1), "T-1#commit"},
		{ledger.CommitKey("T-1", 3), "T-1#3#commit"},
		{ledger.LoadKey("T-1"), "T-1"},
		{ledger.UserKey("emp-9"), "user:emp-9"},
	} {
		if c.got != c.want {
			t.Errorf("key %q, want %q", c.got, c.want)
		}
	}
	if ledger.Fingerprint("ab", "c") == ledger.Fingerprint("a", "bc") {
		t.Error("Fingerprint is ambiguous")
	}
}
