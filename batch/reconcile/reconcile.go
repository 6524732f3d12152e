package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// ReconcileAPI is the part of MassPay reconcile reads. *masspay.Client
// satisfies it, with its rate limiting and retries.
type ReconcileAPI interface {
	Balances(ctx context.Context) ([]masspay.AvailableBalance, error)
	PayoutStatus(ctx context.Context, userToken, payoutToken string, force bool) (*masspay.PayoutTxnResp, error)
	Loads(ctx context.Context, userToken string) ([]masspay.Load, error)
}

var _ ReconcileAPI = (*masspay.Client)(nil)

// Reconciler brings the ledger's MassPay statuses of committed payouts and
// loads up to date, records every change and flip, and compares the account
// balance with what the ledger expects. It never moves a row's State and
// never pays anything.
type Reconciler struct {
	API    ReconcileAPI
	Ledger *ledger.Ledger
	// Applier applies the news; nil means a new one on Ledger. Share one with
	// a webhook receiver in the same process.
	Applier *StatusApplier
	// Workers is the number of rows asked about at once (default 8); the
	// client's rate limit bounds the request rate.
	Workers int
	// RunID limits the statuses checked to one run's rows; 0 checks all.
	RunID int64
	// Since skips rows settled (COMPLETED, CANCELLED...) before it, and bounds
	// the runs the balance comparison starts from. Zero checks everything.
	Since time.Time
	// Clock is when a poll is taken to have happened; default time.Now.
	Clock func() time.Time
	Log   zerolog.Logger
}

// StatusChange is one status reconcile moved.
type StatusChange struct {
	ClientTransferID string
	Token            string
	Was, Now         string
}

// RowProblem is a row reconcile could not check.
type RowProblem struct {
	ClientTransferID string
	Err              string
}

// ReconcileReport is what one reconcile found.
type ReconcileReport struct {
	Checked int
	Changes []StatusChange
	// Flips are the flips this reconcile found (not those recorded before).
	Flips    []results.Flip
	Problems []RowProblem
	Balances []BalanceCheck
}

// NeedsAttention reports whether the report holds a flip, a balance
// difference or a row that could not be checked.
func (r ReconcileReport) NeedsAttention() bool {
	if len(r.Flips) > 0 || len(r.Problems) > 0 {
		return true
	}
	for _, b := range r.Balances {
		if !b.Difference.IsZero() {
			return true
		}
	}
	return false
}

// Reconcile checks every committed payout and load that is not settled
// before Since, then the balances. Rows it cannot check are listed in
// Problems; only an authentication failure, a ledger failure or the end of
// ctx stop it early with an error.
func (r *Reconciler) Reconcile(ctx context.Context) (ReconcileReport, error) {
	workers := r.Workers
	if workers <= 0 {
		workers = 8
	}
	clock := r.Clock
	if clock == nil {
		clock = time.Now
	}
	app := r.Applier
	if app == nil {
		app = NewStatusApplier(r.Ledger)
	}
	var (
		mu  sync.Mutex
		rep ReconcileReport
	)
	loads := &loadCache{api: r.API, m: map[string]*loadEntry{}}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	filter := ledger.RowFilter{RunID: r.RunID, States: []ledger.State{ledger.StatePaid, ledger.StateLoaded, ledger.StateScheduled}}
	var listErr error
	for row, err := range r.Ledger.Rows(ctx, filter) {
		if err != nil {
			listErr = fmt.Errorf("list committed rows: %w", err)
			break
		}
		if gctx.Err() != nil {
			break
		}
		if rowToken(row) == "" || r.settledBefore(row) {
			continue
		}
		g.Go(func() error {
			news, err := r.poll(gctx, loads, row, clock)
			if err == nil {
				var out StatusOutcome
				out, err = app.Apply(gctx, news)
				if err == nil {
					mu.Lock()
					rep.Checked++
					if out.Changed {
						rep.Changes = append(rep.Changes, StatusChange{ClientTransferID: row.ID, Token: news.Token, Was: out.Was, Now: out.Now})
					}
					if out.Flip != nil {
						rep.Flips = append(rep.Flips, *out.Flip)
						r.Log.Warn().Str("client_transfer_id", row.ID).Str("token", news.Token).
							Str("was", out.Flip.Was).Str("now", out.Flip.Now).Msg("FLIP: MassPay changed a settled payment")
					}
					mu.Unlock()
					return nil
				}
				if !errors.Is(err, ErrUnknownPayment) {
					return err // the ledger failed: stop
				}
			}
			if errors.Is(err, masspay.ErrUnauthorized) || gctx.Err() != nil {
				return err
			}
			r.Log.Error().Str("client_transfer_id", row.ID).Err(err).Msg("could not reconcile row")
			mu.Lock()
			rep.Problems = append(rep.Problems, RowProblem{ClientTransferID: row.ID, Err: err.Error()})
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	if err == nil {
		err = listErr
	}
	if err == nil {
		err = ctx.Err()
	}
	sort.Slice(rep.Changes, func(i, j int) bool { return rep.Changes[i].ClientTransferID < rep.Changes[j].ClientTransferID })
	sort.Slice(rep.Flips, func(i, j int) bool { return rep.Flips[i].ClientTransferID < rep.Flips[j].ClientTransferID })
	sort.Slice(rep.Problems, func(i, j int) bool { return rep.Problems[i].ClientTransferID < rep.Problems[j].ClientTransferID })
	if err != nil {
		return rep, fmt.Errorf("reconcile statuses: %w", err)
	}
	bals, err := r.checkBalances(ctx)
	rep.Balances = bals
	if err != nil {
		return rep, err
	}
	return rep, nil
}

// settledBefore reports whether row reached a final MassPay status before
// r.Since, so reconcile no longer asks about it.
func (r *Reconciler) settledBefore(row ledger.Row) bool {
	if r.Since.IsZero() {
		return false
	}
	switch row.Status() {
	case masspay.StatusCompleted, masspay.StatusCancelled, masspay.StatusReadyForPickup:
	default:
		return false
	}
	at := row.LaterStatusAt
	if at.IsZero() {
		at = row.UpdatedAt
	}
	return at.Before(r.Since)
}

// poll asks MassPay for a row's current status.
func (r *Reconciler) poll(ctx context.Context, loads *loadCache, row ledger.Row, clock func() time.Time) (StatusNews, error) {
	n := StatusNews{TransferID: row.ID, Observed: true, Source: ledger.EventReconcile}
	if row.PayoutToken != "" {
		p, err := r.API.PayoutStatus(ctx, row.UserToken, row.PayoutToken, false)
		if err != nil {
			return n, fmt.Errorf("fetch payout %s: %w", row.PayoutToken, err)
		}
		n.Token, n.Status = row.PayoutToken, p.Status
	} else {
		ls, err := loads.get(ctx, row.UserToken)
		if err != nil {
			return n, fmt.Errorf("fetch loads of %s: %w", row.UserToken, err)
		}
		n.Token = row.LoadToken
		for _, l := range ls {
			if l.LoadToken == row.LoadToken {
				n.Status = l.Status
			}
		}
		if n.Status == "" {
			return n, fmt.Errorf("load %s not among the payee's loads", row.LoadToken)
		}
	}
	// Taken after the answer: the status was true at least then. The poll
	// is dated by the reconciler's own clock, which is the receiver's.
	n.At = clock()
	n.Received = n.At
	return n, nil
}

// loadCache fetches each payee's loads once per reconcile, however many of
// their rows are loads.
type loadCache struct {
	api ReconcileAPI
	mu  sync.Mutex
	m   map[string]*loadEntry
}

type loadEntry struct {
	once  sync.Once
	loads []masspay.Load
	err   error
}

func (c *loadCache) get(ctx context.Context, user string) ([]masspay.Load, error) {
	c.mu.Lock()
	e, ok := c.m[user]
	if !ok {
		e = &loadEntry{}
		c.m[user] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.loads, e.err = c.api.Loads(ctx, user) })
	return e.loads, e.err
}
