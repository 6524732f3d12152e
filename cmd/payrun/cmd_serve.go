package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/payrun/payrun/batch/alert"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/cmd/payrun/console"
	"github.com/payrun/payrun/cmd/payrun/internal/runlease"
	"github.com/payrun/payrun/ledger"
)

// ServeCommand serves the finance web console over the ledger: upload,
// review, approve, run, watch, results.
type ServeCommand struct {
	api          apiFlags
	logs         logFlags
	ledgerPath   string
	listen       string
	tlsCert      string
	tlsKey       string
	insecureHTTP bool
	dataDir      string
	maxUploadMB  int
	workers      int
	claimLease   time.Duration
}

const serveUsage = "[flags]"

const serveHint = "payrun serve --sandbox"

// Run serves until ctx ends (SIGINT, SIGTERM), then lets an active run stop
// cleanly: no new rows, payouts already initiated still committed.
func (c *ServeCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("serve", serveUsage)
	c.api.register(fs)
	c.logs.register(fs)
	ledgerFlag(fs, &c.ledgerPath)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8088", "address to serve on; anything but loopback needs --tls-cert and --tls-key, or --insecure-http")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate file (PEM)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS private key file (PEM)")
	fs.BoolVar(&c.insecureHTTP, "insecure-http", false, "serve plain HTTP on a non-loopback address (passwords and payee data cross the network in clear)")
	fs.StringVar(&c.dataDir, "data-dir", "", "where uploaded sheets, plan and results workbooks are kept (default: <ledger>.console beside the ledger)")
	fs.IntVar(&c.maxUploadMB, "max-upload", console.DefaultMaxUpload>>20, "largest sheet accepted, in MiB")
	workersFlag(fs, &c.workers)
	fs.DurationVar(&c.claimLease, "claim-lease", runlease.DefaultLease, "PostgreSQL ledger: how long a row a console run claimed, and its run lease, stay its own without a renewal; a dead console's rows are taken over, and its run shown interrupted, after it")
	if err := m.parseFlags(fs, args, serveHint); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: serveHint}
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return &UsageError{Err: errors.New("--tls-cert and --tls-key go together"), Hint: "payrun serve --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem"}
	}
	if c.claimLease <= 0 {
		return &UsageError{Err: fmt.Errorf("claim lease %v: give a positive duration", c.claimLease), Hint: "--claim-lease 30s"}
	}
	if c.maxUploadMB <= 0 {
		return &UsageError{Err: errors.New("--max-upload must be positive"), Hint: "--max-upload 20"}
	}
	useTLS := c.tlsCert != ""
	loopback, err := isLoopback(c.listen)
	if err != nil {
		return &UsageError{Err: err, Hint: "payrun serve --listen 127.0.0.1:8088"}
	}
	if !loopback && !useTLS && !c.insecureHTTP {
		return &UsageError{Err: fmt.Errorf("--listen %s is reachable from other machines: serve it with --tls-cert and --tls-key, or say --insecure-http", c.listen),
			Hint: "payrun serve --listen " + c.listen + " --tls-cert cert.pem --tls-key key.pem"}
	}
	log, closeLog, err := m.logger(c.logs)
	if err != nil {
		return err
	}
	defer closeLog()
	if c.workers <= 0 {
		c.workers = envInt(m, "PAYRUN_WORKERS", 0) // after the logger loaded payrun.toml; 0: adaptive
	}
	if !loopback && !useTLS {
		fmt.Fprintf(m.humanOut(), "WARNING: serving plain HTTP on %s: passwords, session cookies and payee details cross the network unencrypted. Put TLS in front of it.\n", c.listen)
	}

	ledgerPath := m.defaultLedger(c.ledgerPath, c.api.sandbox)
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("open ledger %s: %w", ledgerPath, err)}
	}
	defer l.Close()
	// One window for the console's runs (one at a time, under the ledger
	// lock), fed by the one client.
	fl, observe := runFlow(c.workers, envInt(m, "PAYRUN_MAX_WORKERS", defaultMaxWorkers))
	c.api.observe = observe
	conn, err := m.openAPI(ctx, c.api, log, ledgerPath)
	if err != nil {
		return err
	}
	defer conn.Close()

	users, err := l.ConsoleUsers(ctx)
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	var setupToken string
	if len(users) == 0 {
		b := make([]byte, 16)
		rand.Read(b)
		setupToken = hex.EncodeToString(b)
	}
	dataDir := c.dataDir
	if dataDir == "" {
		dataDir = ledgerSibling(l.Path(), ".console")
	}
	// Uploaded sheets' amounts are read as payrun.toml or the environment
	// say (decimal_mark), like plan and run without --decimal-mark.
	iopts, _, err := sheetFlags{}.options(m.Getenv)
	if err != nil {
		return err
	}
	// The console's plans and runs alert as payrun plan and run do: the
	// approvers learn a plan waits for them, finance a run's digest.
	notify := m.notifier(l, log, "")
	onPlan := func(ctx context.Context, rec ledger.Plan, plan *results.Plan) {
		ctx, cancel := context.WithTimeout(ctx, alertBudget)
		defer cancel()
		notify.ApprovalWaiting(ctx, alert.ApprovalInfo{PlanID: rec.ID, Sheet: rec.SheetName, PreparedBy: rec.PreparedBy,
			Rows: plan.Rows, Totals: planTotals(plan), Command: fmt.Sprintf("payrun approve --ledger %s %d", l.Path(), rec.ID)})
	}
	onRun := func(ctx context.Context, e console.RunEnded) {
		m.alertFunds(ctx, notify, e.RunID, e.Sheet, e.Halted, e.After)
		if e.Err != nil {
			m.alertAborted(ctx, notify, alert.AbortInfo{RunID: e.RunID, Sheet: e.Sheet, Env: conn.Env, Reason: e.Err.Error()})
			return
		}
		if e.Results != "" {
			m.alertRun(ctx, notify, alert.RunInfo{RunID: e.RunID, Sheet: e.Sheet, Env: conn.Env, Results: e.Results, Totals: e.Summary.Totals})
		}
	}
	cfg := console.Config{
		Ledger: l, API: conn.Client, Environment: conn.Env, DataDir: dataDir,
		SecureCookies: useTLS, MaxUpload: int64(c.maxUploadMB) << 20, Workers: c.workers, Flow: fl,
		SetupToken: setupToken, Log: log, DecimalMark: iopts.DecimalMark, ClaimLease: c.claimLease,
	}
	if notify != nil {
		cfg.OnPlanRecorded, cfg.OnRunEnded = onPlan, onRun
	}
	srv, err := console.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("listen on %s: %w", c.listen, err)}
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
	}
	url := scheme + "://" + displayAddr(ln.Addr().String()) + "/"
	fmt.Fprintf(m.Stdout, "payrun console: %s (MassPay %s, ledger %s)\n", url, conn.Env, l.Path())
	if setupToken != "" {
		// Each hint names this console's ledger: without it the user
		// would land in ./payrun.db, which this console never reads.
		lf := "--ledger " + shellQuote(l.Path())
		fmt.Fprintf(m.Stdout, "No console user yet. Create the first one, either:\n  open %ssetup?token=%s (works once), or\n  payrun user add --role approver %s NAME\n"+
			"A plan needs two people: one preparer and a different approver (payrun user add --role preparer %s NAME).\n",
			url, setupToken, lf, lf)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // a large sheet over a slow link
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- hs.ServeTLS(ln, c.tlsCert, c.tlsKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("serve: %w", err)}
	case <-ctx.Done():
	}
	fmt.Fprintln(m.humanOut(), "Stopping: no new rows are started; a run in progress records where it stopped.")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn().Err(err).Msg("run still paying at shutdown; calls in flight abandoned")
	}
	return nil
}

// isLoopback reports whether a listen address only accepts connections from
// this machine. An empty host listens on every interface.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false, nil // a name: may resolve anywhere
	}
	return ip.IsLoopback(), nil
}

// displayAddr turns a listener address into one a browser can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
