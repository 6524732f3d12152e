package routing

import (
	"context"
	"errors"
	"time"

	"github.com/payrun/payrun/masspay"
)

// BalanceAPI is the one call FetchBalances needs.
type BalanceAPI interface {
	Balances(ctx context.Context) ([]masspay.AvailableBalance, error)
}

// balanceRetries bounds FetchBalances' own re-asks after a 429 that
// outlived the client's retries.
const balanceRetries = 5

// FetchBalances asks MassPay for the account balances. A 429 that outlived
// the client's retries is asked again after a pause, up to balanceRetries
// times: the opening balance check of a run or plan is a call like any
// other, and MassPay asking to slow down must not abort the run. The
// client itself holds every request until a 429's Retry-After has passed;
// the pause here (1 s, 2 s, ...) covers a 429 that named none.
func FetchBalances(ctx context.Context, api BalanceAPI) ([]masspay.AvailableBalance, error) {
	for i := 1; ; i++ {
		bals, err := api.Balances(ctx)
		if err == nil || i > balanceRetries || !errors.Is(err, masspay.ErrRateLimited) {
			return bals, err
		}
		if !sleepCtx(ctx, time.Duration(i)*time.Second) {
			return nil, err
		}
	}
}

// sleepCtx waits d, or less when ctx ends first; false means ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
