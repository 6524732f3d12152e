package main

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch/routing"
)

// preflightAPI connects to MassPay before payrun run opens its ledger, so a
// run that cannot start (no key, no environment, a key MassPay refuses,
// MassPay out of reach) creates no ledger file: the next try, or a status
// in the wrong folder, would otherwise find a stray empty payrun.db.
//
// It asks for the balances once, the cheapest call that proves the key;
// the run asks again once it holds the ledger lock, as those are the
// balances it records. With --sandbox it returns nil: the embedded
// sandbox keeps its state beside the ledger and starts only under the
// ledger's lock, so two runs never share its files.
func (m *Main) preflightAPI(ctx context.Context, f apiFlags, log zerolog.Logger) (*apiConn, error) {
	if f.sandbox {
		return nil, nil
	}
	conn, err := m.openAPI(ctx, f, log, "")
	if err != nil {
		return nil, err
	}
	if _, err := routing.FetchBalances(ctx, conn.Client); err != nil {
		conn.Close()
		return nil, apiFailure("fetch balances", err)
	}
	return conn, nil
}
