package batch

// A payee token cached in the ledger that MassPay does not know (404): the
// cache is stale (a ledger filled against another MassPay, a payee
// removed), not the row wrong. The payee is looked up (or created) again,
// once per payee and run, the cache updated, and the row's call re-sent to
// the payee MassPay knows; never FAILED for it, never an abort.

import (
	"context"
	"errors"
	"fmt"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// msgStalePayee starts the event recorded when a cached payee token was
// stale; a test counts them.
const msgStalePayee = "cached payee token"

// freshPayee settles a 404 to a call made with the row's user token. When
// the token is stale it moves the row, in its state, onto the token MassPay
// knows now (same Idempotency-Key and recorded bytes: a payee MassPay does
// not know cannot have had anything done under the key) and handled is
// true. handled is false when the 404 is not about the payee (MassPay still
// gives this token for the payee, or it was looked up already in this run):
// the caller settles err as before.
func (r *Runner) freshPayee(ctx context.Context, row ledger.Row, data sheet.Row, err error) (next ledger.Row, handled bool, ferr error) {
	if row.UserToken == "" || !errors.Is(err, masspay.ErrNotFound) {
		return row, false, nil
	}
	tok, stale, lerr := r.lookUpPayeeAgain(ctx, row, data)
	var na *needsActionError
	switch {
	case errors.As(lerr, &na):
		next, ferr = r.needsAction(ctx, row, ledger.RowUpdate{}, na.reason, na.action)
		return next, true, ferr
	case errors.Is(lerr, masspay.ErrUnauthorized):
		return row, true, fmt.Errorf("%w: MassPay refused the API key (look the payee up again)", ErrAborted)
	case lerr != nil:
		// Nothing was done under the row's key (the payee it went to does
		// not exist); the row waits where it is for the next attempt.
		next, ferr = r.stayInFlight(ctx, row, "", "look the payee up again", lerr)
		return next, true, ferr
	case !stale:
		return row, false, nil
	}
	next, ferr = r.move(ctx, row, row.State, ledger.RowUpdate{UserToken: &tok},
		ledger.Event{Message: fmt.Sprintf("%s %s of %s unknown to MassPay; payee is now %s", msgStalePayee, row.UserToken, data.InternalUserID, tok)})
	return next, true, ferr
}

// lookUpPayeeAgain finds (or creates) the row's payee again, bypassing the
// cache, at most once per payee and run: rows of the same payee after the
// first take the token it found. stale is false when MassPay gives back the
// row's own token.
func (r *Runner) lookUpPayeeAgain(ctx context.Context, row ledger.Row, data sheet.Row) (tok string, stale bool, err error) {
	unlock := r.userMu.lock(data.InternalUserID)
	defer unlock()
	if v, done := r.relooked.Load(data.InternalUserID); done {
		tok = v.(string)
		return tok, tok != row.UserToken, nil
	}
	tok, err = r.findOrCreateUser(ctx, row.ID, data)
	if err != nil {
		return "", false, err
	}
	r.relooked.Store(data.InternalUserID, tok)
	return tok, tok != row.UserToken, nil
}
