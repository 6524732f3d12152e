// Package console is payrun's finance web console: the pages `payrun serve`
// serves so a finance team can upload the month's payout sheet, read its
// validation report or its plan, have a second person approve it, start the
// run, watch it, and read and download the results.
//
// The console is a thin layer over the same packages the CLI uses: batch
// validates, plans, pays and writes results; ledger stores runs, rows,
// events, console users and plans with their approvals (the same plans
// payrun plan and payrun approve record), and its Lock keeps one runner per
// ledger, so a run started from a page while cron holds the ledger says so
// instead of racing. On a PostgreSQL ledger a run also follows payrun run's
// protocol there: a run lease, row claims shared with payrun run on other
// hosts, and another runner's live run lease refusing the Pay button. Pages are server-rendered html/template with a little
// progressive JavaScript (progress polling); everything is embedded.
//
// Security: sessions are random 256-bit ids in HttpOnly, SameSite=Strict
// cookies (Secure under TLS), kept in the ledger as their SHA-256 only, so
// consoles sharing a ledger share them and a restart keeps them; every form
// carries a per-session CSRF token (derived from the id) and unsafe
// cross-origin requests are refused; sign-in attempts are counted in the
// ledger before the password hash, per name and per address, with a
// doubling back-off; the user is re-read from the ledger at every request,
// so a new password, disable or remove ends a session; uploads are
// size-limited; the MassPay API key never reaches this package; every action
// is an event in the ledger naming the user; the person who prepared a plan
// can never approve it.
package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/flow"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/cmd/payrun/internal/runlease"
	"github.com/payrun/payrun/ledger"
)

// DefaultMaxUpload is the largest sheet accepted by default: 20 MiB holds an
// XLSX of well over a hundred thousand rows.
const DefaultMaxUpload = 20 << 20

// Config wires a console to a ledger and to MassPay.
type Config struct {
	// Ledger is the open ledger: runs, rows, events, users and plans.
	Ledger *ledger.Ledger
	// API is the MassPay client plans are priced and runs are paid with. The
	// console never sees the API key: the caller built the client.
	API batch.API
	// Environment names the MassPay environment ("sandbox", "production"),
	// shown on every page and recorded in runs.
	Environment string
	// DataDir keeps uploaded sheets (named by their SHA-256), plan workbooks
	// and results workbooks. It is created with mode 0700. A planned
	// sheet is kept in the ledger too, which is its source: DataDir is a
	// cache of it, so consoles on one ledger need not share a folder.
	DataDir string
	// SecureCookies marks cookies Secure; set it when serving TLS.
	SecureCookies bool
	// MaxUpload bounds an uploaded sheet in bytes; 0 means DefaultMaxUpload.
	MaxUpload int64
	// ResultsPageRows is how many rows one results page shows (default
	// 1000); the others are on the next pages, and all in the workbook.
	ResultsPageRows int
	// Workers is the number of rows paid at once (default 8) when Flow is
	// nil.
	Workers int
	// Flow, when set, sizes the runs' window of rows in flight instead
	// (batch.Runner.Flow).
	Flow *flow.Limiter
	// ClaimLease is, on a PostgreSQL ledger, how long a row the console's
	// runner claimed, and its run lease, stay its own without a renewal
	// (payrun run's --claim-lease; default runlease.DefaultLease): a dead
	// console's rows are taken over, and its run reads as interrupted,
	// this long after it died.
	ClaimLease time.Duration
	// SetupToken, when set, lets /setup?token=... create the first console
	// user while the ledger has none. It stops working once a user exists.
	SetupToken string
	// SessionTTL is how long a session lasts without activity (default 1h);
	// a session never outlives 12 hours. Sessions and sign-in back-offs
	// live in the ledger and are timed by its clock (ledger.Options.Clock),
	// as every console on the ledger shares them.
	SessionTTL time.Duration
	// Log receives the console's log lines (never a secret).
	Log zerolog.Logger
	// Clock is the console's notion of now; nil means time.Now.
	Clock func() time.Time
	// RefusedRetention is how long a refused upload is kept before it is
	// removed (default DefaultRefusedRetention).
	RefusedRetention time.Duration
	// DecimalMark is the decimal mark of uploaded sheets' text amounts, ','
	// or '.' (decimal_mark in payrun.toml); 0 refuses an amount the two
	// marks read differently, as the CLI does without --decimal-mark.
	DecimalMark rune
	// OnPlanRecorded, when set, is told of each plan an upload recorded
	// (payrun serve alerts the approvers). It runs on its own goroutine.
	OnPlanRecorded func(ctx context.Context, rec ledger.Plan, plan *results.Plan)
	// OnRunEnded, when set, is told when a run the console started ended:
	// what stopped it (nil when it finished, or a signal stopped it), the
	// source currencies MassPay stopped for want of funds, the balances
	// after it and its results (payrun serve sends the run's alerts, as
	// payrun run does). It runs on the run's goroutine, after the results.
	OnRunEnded func(ctx context.Context, ended RunEnded)
}

// RunEnded is what Config.OnRunEnded is told about a run that ended.
type RunEnded struct {
	RunID   int64
	Sheet   string
	Err     error             // what stopped it on its own; nil otherwise
	Halted  map[string]string // currencies stopped for want of funds
	After   ledger.Balances
	Results string // the results workbook's path, "" when not written
	Summary results.ResultsSummary
}

// ingestOptions are how every uploaded sheet is read: validated, planned
// and recorded the same way.
func (s *Server) ingestOptions() ingest.IngestOptions {
	return ingest.IngestOptions{DecimalMark: s.cfg.DecimalMark}
}

// Server is a running console. It is an http.Handler.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	handler  http.Handler
	pages    *pages
	sessions *sessionStore
	signins  *signinLimiter
	// formReadTimeout bounds reading any form but an upload (sign-in
	// included); tests shorten it.
	formReadTimeout time.Duration

	// stop ends active runs softly (no new rows); calls abandons calls in
	// flight. Shutdown cancels stop and waits; Close cancels both.
	stop, calls         context.Context
	cancelStop, abandon context.CancelFunc
	wg                  sync.WaitGroup

	sweepMu sync.Mutex // between sweepRefused and an upload of the same bytes

	mu     sync.Mutex
	active *activeRun              // the run this process is paying, if any
	priced map[int64]*results.Plan // plan id -> its quote, as priced at upload

	sums summaries // the runs page's background count of run totals
}

// New checks cfg and returns a console.
func New(cfg Config) (*Server, error) {
	if cfg.Ledger == nil {
		return nil, errors.New("new console: Ledger is required")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("new console: DataDir is required")
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = DefaultMaxUpload
	}
	if cfg.ClaimLease <= 0 {
		cfg.ClaimLease = runlease.DefaultLease
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.RefusedRetention <= 0 {
		cfg.RefusedRetention = DefaultRefusedRetention
	}
	for _, d := range []string{"", dirSheets, dirPlans, dirResults} {
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, d), 0o700); err != nil {
			return nil, fmt.Errorf("new console: create data dir: %w", err)
		}
	}
	pg, err := loadPages()
	if err != nil {
		return nil, fmt.Errorf("new console: %w", err)
	}
	s := &Server{
		cfg:             cfg,
		pages:           pg,
		sessions:        newSessionStore(cfg.Ledger, cfg.SessionTTL),
		signins:         newSigninLimiter(cfg.Ledger),
		formReadTimeout: defaultFormReadTimeout,
		priced:          map[int64]*results.Plan{},
	}
	s.stop, s.cancelStop = context.WithCancel(context.Background())
	s.calls, s.abandon = context.WithCancel(context.Background())
	s.routes()
	s.sweepRefused()
	s.sweepAuth(context.Background())
	s.wg.Add(2)
	go s.sweepEvery(time.Hour)
	go s.shareLocalSheets()
	s.sums = summaries{running: true, visited: map[int64]bool{}, done: make(chan struct{})}
	return s, nil
}

// defaultFormReadTimeout bounds reading a sign-in or other small form: a
// person's browser sends one in milliseconds.
const defaultFormReadTimeout = 10 * time.Second

// Sub-directories of DataDir.
const (
	dirSheets  = "sheets"
	dirPlans   = "plans"
	dirResults = "results"
)

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Shutdown asks an active run to stop starting new rows (payouts already
// initiated are still committed) and waits for it to record its end, or for
// ctx. The ledger makes a run cut short safe to resume.
func (s *Server) Shutdown(ctx context.Context) error {
	s.cancelStop()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.abandon()
		<-done
		return ctx.Err()
	}
}

// Close abandons an active run's calls in flight and waits for it to end.
func (s *Server) Close() error {
	s.cancelStop()
	s.abandon()
	s.wg.Wait()
	return nil
}

func (s *Server) now() time.Time { return s.cfg.Clock() }
