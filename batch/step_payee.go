package batch

// Payee state family of the README's diagram: new -> user_ready, finding or
// creating the MassPay user (cached in the ledger).

import (
	"context"
	"errors"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

func (r *Runner) stepUser(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	if data.Method == sheet.MethodLoad {
		// Month two: the payee is known, so the load's intent (with the
		// token) is this row's first durable write, one commit fewer.
		if token, ok, err := r.Ledger.UserToken(ctx, data.InternalUserID); err == nil && ok {
			row.UserToken = token
			return r.stepLoadIntentAs(ctx, row, data, &token)
		}
	}
	token, err := r.ensureUser(ctx, row.ID, data)
	var na *needsActionError
	if errors.As(err, &na) {
		return r.needsAction(ctx, row, ledger.RowUpdate{}, na.reason, na.action)
	}
	if err != nil {
		return r.settle(ctx, row, "", "create or find the payee", err)
	}
	return r.move(ctx, row, ledger.StateUserReady, ledger.RowUpdate{UserToken: &token}, ledger.Event{Message: "payee " + token})
}
