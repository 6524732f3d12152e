package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// allowed is the state machine written out independently of the code, from
// the design: from -> legal targets (self-transitions are added below).
var allowed = map[ledger.State][]ledger.State{
	"new":          {"user_ready", "load_sent", "FAILED", "NEEDS_ACTION", "INVALID", "CONFLICT"},
	"user_ready":   {"load_sent", "route_ready", "FAILED", "NEEDS_ACTION"},
	"load_sent":    {"LOADED", "SCHEDULED", "FAILED", "NEEDS_ACTION", "CONFLICT"},
	"route_ready":  {"initiating", "FAILED", "NEEDS_ACTION"},
	"initiating":   {"initiated", "PAID", "FAILED", "NEEDS_ACTION", "route_ready", "CONFLICT"},
	"initiated":    {"committing", "initiating"},
	"committing":   {"PAID", "initiating", "FAILED", "NEEDS_ACTION"},
	"NEEDS_ACTION": {"new"},
}

func legal(from, to ledger.State) bool {
	if from == to {
		return true
	}
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}

func TestStatePredicates(t *testing.T) {
	final := map[ledger.State]bool{"LOADED": true, "SCHEDULED": true, "PAID": true, "FAILED": true,
		"NEEDS_ACTION": true, "INVALID": true, "CONFLICT": true}
	unknown := map[ledger.State]bool{"load_sent": true, "initiating": true, "committing": true}
	if len(ledger.States) != 14 {
		t.Fatalf("len(States) = %d, want 14", len(ledger.States))
	}
	for _, s := range ledger.States {
		if s.Final() != final[s] || s.Unknown() != unknown[s] || !s.Valid() {
			t.Errorf("%s: Final=%v Unknown=%v Valid=%v", s, s.Final(), s.Unknown(), s.Valid())
		}
	}
	if ledger.State("paid").Valid() || ledger.CanTransition("new", "paid") {
		t.Error("an unknown state is accepted")
	}
}

// TestTransitionEveryPair drives a real ledger through every (from, to)
// pair: each legal move succeeds and is recorded with its event; each
// illegal one fails with ErrIllegalTransition and leaves the row alone.
func TestTransitionEveryPair(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		var in []ledger.RowInput
		for i, from := range ledger.States {
			for j, to := range ledger.States {
				in = append(in, input(fmt.Sprintf("%s>%s", from, to), 2+i*len(ledger.States)+j, "5.00"))
			}
		}
		upsert(t, l, run.ID, in...)
		for _, from := range ledger.States {
			for _, to := range ledger.States {
				t.Run(fmt.Sprintf("%s>%s", from, to), func(t *testing.T) {
					t.Parallel() // concurrent callers exercise the group commit
					id := fmt.Sprintf("%s>%s", from, to)
					before := walk(t, l, id, from)
					got, err := l.Transition(ctx, id, from, to, ledger.RowUpdate{AddAttempts: 1}, ledger.Event{Message: "pair"})
					if ledger.CanTransition(from, to) != legal(from, to) {
						t.Errorf("CanTransition = %v, design says %v", !legal(from, to), legal(from, to))
					}
					if !legal(from, to) {
						if !errors.Is(err, ledger.ErrIllegalTransition) {
							t.Fatalf("err = %v, want ErrIllegalTransition", err)
						}
						after, _ := l.Row(ctx, id)
						if after.State != from || after.Attempts != before.Attempts || !after.UpdatedAt.Equal(before.UpdatedAt) {
							t.Errorf("illegal move changed the row: %+v", after)
						}
						return
					}
					if err != nil {
						t.Fatalf("legal move failed: %v", err)
					}
					if got.State != to || got.Attempts != before.Attempts+1 {
						t.Errorf("row after = %s attempts %d", got.State, got.Attempts)
					}
					var last ledger.Event
					for ev, err := range l.Events(ctx, ledger.EventFilter{TransferID: id, Kind: ledger.EventTransition}) {
						if err != nil {
							t.Fatal(err)
						}
						last = ev
					}
					if last.From != from || last.To != to || last.Message != "pair" || last.RunID != run.ID {
						t.Errorf("last event = %+v", last)
					}
				})
			}
		}
	})
}
