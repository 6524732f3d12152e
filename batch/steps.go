package batch

// The runner's step dispatcher: one ledger state in, the next state out,
// and the moves every step ends in (move, fail, needsAction). Each family of
// states has its own file: step_payee.go (new -> user_ready), step_load.go
// (user_ready -> load_sent -> LOADED | SCHEDULED), step_quote.go
// (user_ready -> route_ready -> initiating -> initiated), step_commit.go
// (initiated -> committing -> PAID), step_adopt.go (MassPay already has the
// money under the id) and step_requests.go (the recorded request bytes and
// settling an unknown outcome).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// errUnknownOutcome marks a call whose effect at MassPay is unknown (lost
// answer, 5xx, timeout after the bytes left). The row stays where it is and
// the same request, with the same Idempotency-Key, is sent again after
// asking MassPay.
var errUnknownOutcome = errors.New("outcome unknown")

// errNotDone marks a call MassPay definitely did not carry out but asked to
// repeat later: a 429, also one that outlived the client's retries. The row
// stays where it is and the same key goes again with no look-up first; it
// spends none of the unknown-outcome budget (notDoneRetries bounds it).
var errNotDone = errors.New("not done: MassPay asked to slow down")

// notDoneRetries bounds the re-sends of a call answered 429 within one
// run, after the client's own waits; the row is then left, in flight, for
// the next run, which sends the same key without a look-up.
const notDoneRetries = 20

// notDone reports whether err is a 429 with no attempt of unknown outcome
// before it: MassPay did not do the call.
func notDone(err error) bool {
	return errors.Is(err, masspay.ErrRateLimited) && !masspay.IsUnknownOutcome(err)
}

// quoteLifetime is how long MassPay honours an initiated payout's quote; the
// runner starts a fresh quote rather than commit one this close to lapsing.
const (
	quoteLifetime = 2 * time.Minute
	quoteMargin   = 15 * time.Second
)

// step moves row one state forward and returns it as the ledger now has it.
func (r *Runner) step(ctx context.Context, row ledger.Row) (ledger.Row, error) {
	data, err := rowData(row)
	return r.stepData(ctx, row, data, err)
}

// stepData is step with the row's sheet data already rebuilt (dataErr is
// rowData's error): payRow rebuilds it once per row, not once per step,
// because the sheet cells never change while a row is worked.
func (r *Runner) stepData(ctx context.Context, row ledger.Row, data sheet.Row, dataErr error) (ledger.Row, error) {
	if dataErr != nil {
		return r.fail(ctx, row, "", fmt.Sprintf("the row recorded in the ledger cannot be read: %v", dataErr))
	}
	switch row.State {
	case ledger.StateNew:
		return r.stepUser(ctx, row, data)
	case ledger.StateUserReady:
		if data.Method == sheet.MethodLoad {
			return r.stepLoadIntent(ctx, row, data)
		}
		return r.stepRoute(ctx, row, data)
	case ledger.StateLoadSent:
		return r.sendLoad(ctx, row, data)
	case ledger.StateRouteReady:
		return r.stepInitiateIntent(ctx, row, data)
	case ledger.StateInitiating:
		return r.sendInitiate(ctx, row, data)
	case ledger.StateInitiated:
		return r.stepCommitIntent(ctx, row)
	case ledger.StateCommitting:
		return r.sendCommit(ctx, row, data)
	}
	return row, fmt.Errorf("step row %s: no step from state %s", row.ID, row.State)
}

// refuseIfHalted ends a not-yet-started row when its source currency ran out
// of funds earlier in this run.
func (r *Runner) refuseIfHalted(ctx context.Context, row ledger.Row, currency string) (ledger.Row, bool, error) {
	if _, ok := r.haltedWhy(currency); !ok {
		return row, false, nil
	}
	next, err := r.needsAction(ctx, row, ledger.RowUpdate{},
		fmt.Sprintf("Not started: the MassPay %s balance ran out earlier in this run.", currency),
		fmt.Sprintf("Add %s funds to the MassPay account and re-run; rows already paid will not be paid again.", currency))
	return next, true, err
}

func (r *Runner) needsAction(ctx context.Context, row ledger.Row, upd ledger.RowUpdate, reason, action string) (ledger.Row, error) {
	upd.LastError = &reason
	upd.ActionNeeded = &action
	return r.move(ctx, row, ledger.StateNeedsAction, upd, ledger.Event{Message: reason})
}

func (r *Runner) fail(ctx context.Context, row ledger.Row, key, reason string) (ledger.Row, error) {
	return r.move(ctx, row, ledger.StateFailed, ledger.RowUpdate{LastError: &reason},
		ledger.Event{IdempotencyKey: key, Message: reason})
}

// move records a transition (compare-and-set on the row's current state).
func (r *Runner) move(ctx context.Context, row ledger.Row, to ledger.State, upd ledger.RowUpdate, ev ledger.Event) (ledger.Row, error) {
	next, err := r.Ledger.Transition(ctx, row.ID, row.State, to, upd, ev)
	if err != nil {
		if errors.Is(err, ledger.ErrStaleState) || errors.Is(err, ledger.ErrFenced) {
			// Both are the row's own news (moved by someone else, or
			// taken over by another runner): payRow handles them; neither
			// makes the run unsafe.
			return row, err
		}
		return row, fmt.Errorf("%w: record %s -> %s for %s: %v", ErrAborted, row.State, to, row.ID, err)
	}
	return next, nil
}

// needsActionError is a row problem a person must fix before the row can be
// paid (no route, a missing payout detail).
type needsActionError struct{ reason, action string }

func (e *needsActionError) Error() string { return e.reason }

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func strp(s string) *string { return &s }

func httpStatus(err error) int {
	var apiErr *masspay.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// refusal is a FAILED row's reason: what MassPay refused and why, as one
// sentence.
func refusal(what string, err error) string {
	return fmt.Sprintf("MassPay refused to %s: %s.", what, routing.ErrorText(err))
}
