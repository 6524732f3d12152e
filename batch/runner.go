package batch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/payrun/payrun/batch/flow"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// ErrAborted reports that the run stopped before every row was final, on a
// signal or on a failure that makes going on unsafe (authentication, ledger).
var ErrAborted = errors.New("run aborted")

// Runner pays the rows of one run, each exactly once. Every step writes its
// intent to the ledger before the call that moves money and its outcome
// after it, so a run can be killed at any instant and resumed.
type Runner struct {
	API    API
	Ledger *ledger.Ledger
	// Workers is the number of rows worked on at once (default 8) when
	// Flow is nil.
	Workers int
	// Flow, when set, decides how many rows are in flight instead of
	// Workers: an adaptive window (batch/flow) fed by the MassPay client's
	// observer, or a fixed one. Progress reports its window and the
	// request rate it sees.
	Flow *flow.Limiter
	// Clock is the runner's notion of now (quote expiry); default time.Now.
	Clock func() time.Time
	Log   zerolog.Logger
	// OnProgress, when set, is called after every row reaches a final state
	// or is left pending.
	OnProgress func(Progress)
	// UnknownOutcomeRetries is how many more times, after the client's own
	// retries, the runner re-sends a call whose outcome is unknown before it
	// leaves the row for the next run. Default 3.
	UnknownOutcomeRetries int
	// RetryWait is the pause between those re-sends (default 2s).
	RetryWait time.Duration
	// ClaimOwner, set on a PostgreSQL ledger, makes Run share its rows with
	// other runners on the same rows (other hosts running the same sheet):
	// it claims rows a few at a time under a lease (Ledger.ClaimRows), and
	// every transition carries the claim's fencing token. It names this
	// runner uniquely (host, pid and a random part). Empty, or on SQLite,
	// Run works every row itself, under the ledger's one-process Lock.
	ClaimOwner string
	// ClaimLease is how long a claimed row stays this runner's without a
	// renewal (default 30s): the time a row of a runner that died waits
	// before another runner takes it over. Leases are renewed every third
	// of it.
	ClaimLease time.Duration

	sources  map[string]masspay.AvailableBalance // by currency
	userMu   keyedMutex
	haltMu   sync.Mutex
	halted   map[string]string // source currency -> why new rows stop (NSF)
	progress progressCounter
	// routes shares route answers among the run's rows (runRoutes).
	routes *runRoutes
	// resumed holds the rows this process found in flight (load_sent,
	// initiating, committing) when it took them up: an earlier process may
	// have sent their call, so their first attempt asks MassPay first.
	resumed sync.Map
	// relooked maps internal_user_id to the token found when a cached
	// token was stale (freshPayee): each payee is looked up again once.
	relooked sync.Map
}

// Progress is a snapshot of a run's progress.
type Progress struct {
	Total   int
	Done    int
	ByState map[ledger.State]int
	Started time.Time
	// Window is the number of rows allowed in flight, and RequestRate the
	// MassPay requests per second seen lately (Runner.Flow).
	Window      int
	RequestRate float64
}

// Stats is what a finished (or interrupted) run reports.
type Stats struct {
	Counts      map[ledger.State]int
	Interrupted bool
	// Worked is how many rows this runner took up: with other runners on
	// the run (ClaimOwner), its share of the rows.
	Worked int
}

// Run works every row of run runID that is not final. stop is the soft
// context: when it is done no new row or first money-moving step starts, but a
// payout already initiated is still committed. calls is the hard context
// every API call and ledger write runs under; cancelling it abandons in-flight
// calls (the ledger still makes the next run safe).
func (r *Runner) Run(stop, calls context.Context, runID int64) (Stats, error) {
	r.defaults()
	if err := r.loadSources(calls); err != nil {
		return Stats{}, err
	}
	counts, err := r.Ledger.Counts(calls, runID)
	if err != nil {
		return Stats{}, fmt.Errorf("count rows: %w", err)
	}
	r.progress.start(counts, r.Clock())

	fl := r.Flow
	if fl == nil {
		fl = flow.Fixed(r.Workers, r.Clock)
	}
	g, gctx := errgroup.WithContext(calls)
	g.SetLimit(fl.Max())
	var worked atomic.Int64
	pay := func(ctx context.Context, row ledger.Row) (ledger.Row, error) {
		defer fl.Release()
		worked.Add(1)
		final, err := r.payRow(stop, ctx, row)
		r.progress.moved(row.State, final.State)
		if r.OnProgress != nil {
			p := r.progress.snapshot()
			st := fl.Stats()
			p.Window, p.RequestRate = st.Window, st.RequestRate
			r.OnProgress(p)
		}
		return final, err
	}
	interrupted := false
	var listErr error
	if r.ClaimOwner != "" && r.Ledger.Postgres() {
		interrupted, listErr = r.workClaimed(stop, gctx, g, fl, runID, pay)
	} else {
		for row, err := range r.Ledger.RowsToWork(calls, runID) {
			if err != nil {
				listErr = fmt.Errorf("list rows to work: %w", err)
				break
			}
			if stop.Err() != nil || gctx.Err() != nil || fl.Acquire(gctx) != nil {
				interrupted = true
				break
			}
			g.Go(func() error {
				_, err := pay(gctx, row)
				return err
			})
		}
	}
	err = g.Wait()
	if err == nil {
		err = listErr
	}
	if err == nil && !interrupted && stop.Err() == nil {
		err = r.settleAutopay(calls, runID)
	}
	counts, cerr := r.Ledger.Counts(calls, runID)
	if cerr != nil && err == nil {
		err = fmt.Errorf("count rows: %w", cerr)
	}
	st := Stats{Counts: counts, Interrupted: interrupted || stop.Err() != nil, Worked: int(worked.Load())}
	if err != nil {
		return st, err
	}
	if calls.Err() != nil {
		return st, fmt.Errorf("%w: %v", ErrAborted, calls.Err())
	}
	return st, nil
}

func (r *Runner) defaults() {
	if r.Workers <= 0 {
		r.Workers = 8
	}
	if r.Clock == nil {
		r.Clock = time.Now
	}
	if r.UnknownOutcomeRetries == 0 {
		r.UnknownOutcomeRetries = 3
	}
	if r.RetryWait == 0 {
		r.RetryWait = 2 * time.Second
	}
	if r.ClaimLease <= 0 {
		r.ClaimLease = 30 * time.Second
	}
	r.halted = map[string]string{}
	r.routes = &runRoutes{}
}

// loadSources fetches the account balances once: their tokens are the
// source_token of every load and payout.
func (r *Runner) loadSources(ctx context.Context) error {
	bals, err := routing.FetchBalances(ctx, r.API)
	if err != nil {
		return fmt.Errorf("fetch balances: %w", err)
	}
	r.sources = map[string]masspay.AvailableBalance{}
	for _, b := range bals {
		r.sources[b.CurrencyCode] = b
	}
	return nil
}

func (r *Runner) sourceToken(currency string) (string, bool) {
	b, ok := r.sources[currency]
	return b.Token, ok
}

// halt stops new rows in a source currency after MassPay reported that the
// account cannot cover them.
func (r *Runner) halt(currency, why string) {
	r.haltMu.Lock()
	defer r.haltMu.Unlock()
	if _, ok := r.halted[currency]; !ok {
		r.halted[currency] = why
		r.Log.Warn().Str("currency", currency).Msg("insufficient funds: no new rows start in this currency")
	}
}

// Halted returns the source currencies in which MassPay reported
// insufficient funds during the last Run, with why: new rows in them did not
// start (they ended NEEDS_ACTION "add funds").
func (r *Runner) Halted() map[string]string {
	r.haltMu.Lock()
	defer r.haltMu.Unlock()
	out := make(map[string]string, len(r.halted))
	for c, why := range r.halted {
		out[c] = why
	}
	return out
}

func (r *Runner) haltedWhy(currency string) (string, bool) {
	r.haltMu.Lock()
	defer r.haltMu.Unlock()
	why, ok := r.halted[currency]
	return why, ok
}

// payRow walks one row through its steps until it is final or must wait for
// the next run. Only errors that make the whole run unsafe are returned.
func (r *Runner) payRow(stop, ctx context.Context, row ledger.Row) (ledger.Row, error) {
	unknown, slowed := 0, 0
	if row.State.Unknown() {
		r.resumed.Store(row.ID, struct{}{})
	}
	data, dataErr := rowData(row)
	for !row.State.Final() {
		if ctx.Err() != nil {
			return row, nil
		}
		if stop.Err() != nil && !mustFinish(row.State) {
			return row, nil
		}
		next, err := r.stepData(ctx, row, data, dataErr)
		switch {
		case err == nil:
			row = next
			unknown, slowed = 0, 0
		case errors.Is(err, errNotDone):
			// A 429: nothing was done, so no look-up is owed and the
			// unknown-outcome budget stays whole.
			slowed++
			if slowed > notDoneRetries || stop.Err() != nil {
				r.Log.Warn().Str("client_transfer_id", row.ID).Str("state", string(row.State)).Err(err).
					Msg("MassPay still asks to slow down; left for the next run, which sends the same Idempotency-Key")
				return row, nil
			}
			if !sleepCtx(ctx, r.RetryWait) {
				return row, nil
			}
		case errors.Is(err, errUnknownOutcome):
			unknown++
			if unknown > r.UnknownOutcomeRetries {
				r.Log.Warn().Str("client_transfer_id", row.ID).Str("state", string(row.State)).Err(err).
					Msg("outcome still unknown; left for the next run, which re-sends the same Idempotency-Key")
				return row, nil
			}
			if !sleepCtx(ctx, r.RetryWait) {
				return row, nil
			}
		case errors.Is(err, ledger.ErrFenced):
			// Our lease lapsed and another runner took the row over: it
			// is that runner's now, and nothing more is written here.
			r.Log.Warn().Str("client_transfer_id", row.ID).Str("state", string(row.State)).Err(err).
				Msg("row taken over by another runner after this one's lease lapsed; dropped")
			return row, nil
		case errors.Is(err, ledger.ErrStaleState):
			// Someone else moved the row (a webhook, another worker): re-read it.
			fresh, gerr := r.Ledger.Row(ctx, row.ID)
			if gerr != nil {
				return row, fmt.Errorf("reread row %s: %w", row.ID, gerr)
			}
			row = fresh
		default:
			return row, err
		}
	}
	return row, nil
}

// mustFinish reports whether a row in state s is mid-payment and must be
// driven on even after a stop request: an initiated quote lapses in two
// minutes, and an unknown outcome is best settled now.
func mustFinish(s ledger.State) bool {
	switch s {
	case ledger.StateInitiated, ledger.StateCommitting, ledger.StateInitiating, ledger.StateLoadSent:
		return true
	}
	return false
}

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

// keyedMutex serialises work per key (one user created once per run even
// when several rows pay the same person).
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*sync.Mutex{}
	}
	m, ok := k.m[key]
	if !ok {
		m = &sync.Mutex{}
		k.m[key] = m
	}
	k.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// progressCounter tracks counts by state for progress reports.
type progressCounter struct {
	mu      sync.Mutex
	total   int
	done    int
	byState map[ledger.State]int
	started time.Time
}

func (p *progressCounter) start(counts map[ledger.State]int, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byState = map[ledger.State]int{}
	p.total, p.done = 0, 0
	for s, n := range counts {
		p.byState[s] = n
		p.total += n
		if s.Final() {
			p.done += n
		}
	}
	p.started = now
}

func (p *progressCounter) moved(from, to ledger.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if from == to {
		return
	}
	p.byState[from]--
	p.byState[to]++
	if to.Final() && !from.Final() {
		p.done++
	}
}

func (p *progressCounter) snapshot() Progress {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := make(map[ledger.State]int, len(p.byState))
	for s, n := range p.byState {
		if n != 0 {
			m[s] = n
		}
	}
	return Progress{Total: p.total, Done: p.done, ByState: m, Started: p.started}
}

// rowData rebuilds the sheet row a ledger row was ingested from. The ledger's
// typed copies of the payment's defining fields win over a re-read of the
// cells: they are what the fingerprint was taken over.
func rowData(lr ledger.Row) (sheet.Row, error) {
	in := make([]sheet.InputField, len(lr.Input))
	for i, c := range lr.Input {
		in[i] = sheet.InputField{Header: c.Header, Value: c.Value}
	}
	d, err := ingest.RowFromInput(in)
	if err != nil && d.ClientTransferID == "" {
		return d, err
	}
	d.ClientTransferID = lr.ID
	d.Amount = lr.Amount
	d.Method = lr.Method
	d.InternalUserID = lr.InternalUserID
	d.SourceCurrency = lr.SourceCurrency
	d.DestinationCurrency = lr.DestinationCurrency
	d.AmountIs = lr.AmountIs
	return d, nil
}

// LedgerRowsToWork yields the sheet rows of run runID that are not final yet,
// rebuilt from the ledger: what a (resumed) run still has to pay.
func LedgerRowsToWork(ctx context.Context, l *ledger.Ledger, runID int64) iter.Seq2[sheet.Row, error] {
	return func(yield func(sheet.Row, error) bool) {
		for lr, err := range l.RowsToWork(ctx, runID) {
			if err != nil {
				yield(sheet.Row{}, err)
				return
			}
			d, derr := rowData(lr)
			if derr != nil {
				continue // the runner fails such a row with the reason
			}
			d.Line = lr.Line
			if !yield(d, nil) {
				return
			}
		}
	}
}
