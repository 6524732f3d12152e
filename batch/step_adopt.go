package batch

// Adoption: a load or payout MassPay may already hold under the row's id
// (DUPLICATE, 409). The row records it when it is this row's money and is
// never sent again; a failed look-up leaves it in flight.

import (
	"context"
	"errors"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

// adoptLoad settles a load MassPay may already have (a DUPLICATE, or any
// 409: "maybe loaded"): find it by client_load_id and record it if it is
// this row's money; never load again. A failed look-up, or none found,
// leaves the row in flight: the next attempt asks again before re-sending.
func (r *Runner) adoptLoad(ctx context.Context, row ledger.Row, data sheet.Row, key string) (ledger.Row, error) {
	l, err := r.findLoad(ctx, row)
	if err != nil {
		return r.lookupFailed(ctx, row, key, "look up the payee's loads", err)
	}
	if l == nil {
		return r.stayInFlight(ctx, row, key, "find the load MassPay says exists",
			errors.New("MassPay refused the load as already done (409) but lists no load under this client_load_id"))
	}
	return r.adoptFoundLoad(ctx, row, data, key, *l, "client_load_id already used")
}

// adoptPayout settles a payout MassPay already committed under this
// client_transfer_id (it answered DUPLICATE): find it in the payee's history,
// which lists committed transactions only, and record it as paid if it is
// this row's money; never pay again. A failed look-up leaves the row in
// flight; none found is duplicateNotFound's.
func (r *Runner) adoptPayout(ctx context.Context, row ledger.Row, data sheet.Row, key string) (ledger.Row, error) {
	found, err := r.findPayout(ctx, row)
	if err != nil {
		return r.lookupFailed(ctx, row, key, "look up the payee's history", err)
	}
	if found == nil {
		return r.duplicateNotFound(ctx, row, key)
	}
	return r.adoptFoundPayout(ctx, row, data, key, *found, "MassPay answered DUPLICATE")
}
