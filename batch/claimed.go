package batch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/payrun/payrun/batch/flow"
	"github.com/payrun/payrun/ledger"
)

// workClaimed is Run's loop when several runners share the run's rows on a
// PostgreSQL ledger: it claims a window's worth of workable rows at a time
// (never one it already worked in this Run, so a row left for the next run
// is not taken up again at once), pays each under its claim, and releases
// it. With nothing left to claim it waits while other runners hold rows of
// the run: if one dies, its leases lapse and the rows are taken over here
// and resumed as after a crash. It returns when no row of the run is left
// to work or held by another runner, or on stop.
func (r *Runner) workClaimed(stop, gctx context.Context, g *errgroup.Group, fl *flow.Limiter, runID int64,
	pay func(context.Context, ledger.Row) (ledger.Row, error)) (interrupted bool, err error) {
	owner, lease := r.ClaimOwner, r.ClaimLease
	renewCtx, stopRenew := context.WithCancel(gctx)
	defer stopRenew()
	go func() {
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-renewCtx.Done():
				return
			case <-t.C:
				if _, err := r.Ledger.RenewClaims(renewCtx, owner, lease); err != nil && renewCtx.Err() == nil {
					r.Log.Warn().Err(err).Msg("renew row claims; rows whose lease lapses may be taken over by another runner")
				}
			}
		}
	}()
	poll := min(lease/4, time.Second)
	var (
		// except holds the rows this runner worked and left not final
		// (for the next run, or taken over): it does not take them up
		// again. Rows it settled need no entry, which keeps the list,
		// and the statements carrying it, short on a big run.
		exceptMu sync.Mutex
		except   []string
		queue    []ledger.ClaimedRow
		inflight atomic.Int64
		wake     = make(chan struct{}, 1)
	)
	release := func(c ledger.Claim) {
		// Not gctx: a row left pending on a stop is released for the
		// other runners at once, not after its lease.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
		defer cancel()
		if err := r.Ledger.ReleaseClaim(ctx, c); err != nil {
			r.Log.Warn().Err(err).Str("client_transfer_id", c.ID).Msg("release row claim; it lapses with its lease")
		}
	}
	defer func() {
		for _, c := range queue {
			release(c.Claim)
		}
		// The leases are renewed until the last row in flight is done
		// (stopRenew runs after this): a long tail of retries must not
		// lose its rows to another runner.
		for inflight.Load() > 0 {
			select {
			case <-wake:
			case <-time.After(poll):
			}
		}
	}()
	for {
		if stop.Err() != nil || gctx.Err() != nil {
			return true, nil
		}
		if len(queue) == 0 {
			exceptMu.Lock()
			skip := slices.Clone(except)
			exceptMu.Unlock()
			rows, err := r.Ledger.ClaimRows(gctx, runID, owner, fl.Max(), lease, skip)
			if err != nil {
				if gctx.Err() != nil {
					return true, nil
				}
				return false, fmt.Errorf("claim rows to work: %w", err)
			}
			if len(rows) == 0 {
				if inflight.Load() == 0 {
					n, err := r.Ledger.HeldElsewhere(gctx, runID, owner, skip)
					if err != nil {
						if gctx.Err() != nil {
							return true, nil
						}
						return false, fmt.Errorf("claim rows to work: %w", err)
					}
					if n == 0 {
						return false, nil
					}
				}
				select {
				case <-wake:
				case <-time.After(poll):
				case <-stop.Done():
				case <-gctx.Done():
				}
				continue
			}
			queue = rows
		}
		if fl.Acquire(gctx) != nil {
			return true, nil
		}
		c := queue[0]
		queue = queue[1:]
		inflight.Add(1)
		g.Go(func() error {
			defer func() {
				inflight.Add(-1)
				select {
				case wake <- struct{}{}:
				default:
				}
			}()
			final, err := pay(ledger.WithClaim(gctx, c.Claim), c.Row)
			if !final.State.Final() {
				// Before the release, so the claim loop cannot take the
				// row up again in between.
				exceptMu.Lock()
				except = append(except, c.Row.ID)
				exceptMu.Unlock()
			}
			release(c.Claim)
			return err
		})
	}
}
