package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/alert"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/pricing"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/cmd/payrun/internal/runlease"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// RunCommand pays a sheet: validate, check funds, pay every row exactly once,
// write the results. Re-running it on the same sheet resumes where the last
// run stopped; rows already final are never touched again.
type RunCommand struct {
	api          apiFlags
	logs         logFlags
	sheet        sheetFlags
	ledgerPath   string
	workers      int
	maxWorkers   int
	yes          bool
	allowPartial bool
	skipInvalid  bool
	resultsMode  fileModeFlag
	retry        bool
	out          string
	format       string
	// requireApproval: pay only a sheet matching an approved plan. The flag
	// can only switch it on; env or payrun.toml switch it on for every run.
	requireApproval bool
	// resultsMoved: the caller (the inbox) moves the results file once the
	// run is over and names it itself, so the run does not print a path
	// that is about to stop existing.
	resultsMoved bool
	// mistakesOut, when set, receives the sheet's mistakes as text if it has
	// any: the inbox files it beside a refused sheet for whoever finds it.
	mistakesOut string
	// nothingToPay is set once the run is over when every row of the sheet
	// had been settled before it started: the inbox files such a sheet as
	// "nothing to pay" rather than "done", which reads as paid today.
	nothingToPay bool
	// kycNotice overrides kyc_notice for this run (--kyc-notice).
	kycNotice string
	// claimLease is how long a row claimed by this runner on a PostgreSQL
	// ledger stays its own without a renewal (--claim-lease).
	claimLease time.Duration
	// alertsByCaller: the caller (the inbox) sends the run's alerts itself,
	// once the results file is where finance will find it; ran tells it
	// what to send.
	alertsByCaller bool
	ran            alert.RunInfo
	// leaseCommand, set by the inbox ("payrun inbox DIR"), names the
	// run in its run lease on a PostgreSQL ledger; else "payrun run SHEET".
	leaseCommand string
}

const runUsage = "[flags] SHEET.xlsx|SHEET.csv"

// Run pays the sheet.
func (c *RunCommand) Run(ctx context.Context, m *Main, args []string) (err error) {
	fs := m.newFlagSet("run", runUsage)
	c.api.register(fs)
	c.logs.register(fs)
	c.sheet.register(fs)
	ledgerFlag(fs, &c.ledgerPath)
	workersFlag(fs, &c.workers)
	maxWorkersFlag(fs, &c.maxWorkers)
	requireApprovalFlag(fs, &c.requireApproval)
	fs.BoolVar(&c.yes, "yes", false, "do not ask for confirmation (cron)")
	allowPartialFlag(fs, &c.allowPartial)
	fs.BoolVar(&c.skipInvalid, "skip-invalid", false, "pay the valid rows of a sheet that has mistakes; mark the others INVALID")
	fs.BoolVar(&c.retry, "retry", true, "retry rows that needed a person in an earlier run of this sheet (a lifted hold, added funds); --retry=false leaves them")
	fs.StringVar(&c.out, "out", "", "results file (default: <sheet>.results.xlsx next to the sheet)")
	fs.StringVar(&c.format, "format", "", "results format: xlsx or csv (default: from --out, else xlsx)")
	fs.Var(&c.resultsMode, "results-mode", resultsModeUsage)
	kycNoticeFlag(fs, &c.kycNotice)
	fs.DurationVar(&c.claimLease, "claim-lease", runlease.DefaultLease, "PostgreSQL ledger: how long a row this runner claimed stays its own without a renewal; a dead runner's rows are taken over after it")
	if err := m.parseFlags(fs, args, "payrun run --sandbox samples/monthly-freelancers.xlsx"); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UsageError{Err: errNoSheet, Hint: "payrun run --sandbox samples/monthly-freelancers.xlsx"}
	}
	sheetPath := fs.Arg(0)
	log, closeLog, err := m.logger(c.logs)
	if err != nil {
		return err
	}
	defer closeLog()
	// The logger loaded payrun.toml: settings not given as flags come from
	// the environment, then the file.
	if c.workers <= 0 {
		c.workers = envInt(m, "PAYRUN_WORKERS", 0)
	}
	if c.maxWorkers <= 0 {
		c.maxWorkers = envInt(m, "PAYRUN_MAX_WORKERS", defaultMaxWorkers)
	}
	fl, observe := runFlow(c.workers, c.maxWorkers)
	c.api.observe = observe
	if on, err := m.envBool("PAYRUN_REQUIRE_APPROVAL"); err != nil {
		return err
	} else if on {
		c.requireApproval = true
	}
	// run_id is known only once the run begins, after the MassPay client
	// (and its logger) exist: a hook adds it to every line from then on,
	// the client's included.
	runField := &runIDHook{}
	log = log.Hook(runField)

	// 1. The sheet, whole, before anything else: a bad sheet moves no money.
	rep, err := m.checkSheet(ctx, sheetPath, c.sheet, "run again")
	if err != nil {
		return err
	}
	if !rep.OK() && !c.skipInvalid {
		if c.mistakesOut != "" {
			if err := writeFileAtomic(c.mistakesOut, func(w io.Writer) error { writeProblems(w, rep, "drop the sheet into incoming/ again"); return nil }); err != nil {
				return &ExitError{Code: ExitAborted, Err: err}
			}
		}
		return &ExitError{Code: ExitUsage, Err: errSilent}
	}
	format, err := resultsFormat(c.format, c.out)
	if err != nil {
		return err
	}
	ingestOpts, _, _ := c.sheet.options(m.Getenv)
	sum, err := ingest.FileSHA256(sheetPath)
	if err != nil {
		return err
	}

	// 2. MassPay reachable with this key, then the ledger, locked: one
	// runner per ledger.
	conn, err := m.preflightAPI(ctx, c.api, log)
	if err != nil {
		return err
	}
	defer conn.Close()
	ledgerPath := m.defaultLedger(c.ledgerPath, c.api.sandbox)
	if err := makeLedgerDir(ledgerPath); err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("create ledger directory: %w", err)}
	}
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	defer l.Close()
	// On PostgreSQL a second runner of the sheet (another host) joins
	// instead: the rows are shared out by claims (batch.Runner.ClaimOwner),
	// each row paid by one runner.
	claimOwner := ""
	if l.Postgres() {
		claimOwner = runlease.Name()
	} else {
		lock, err := lockLedger(ctx, l, ledgerPath, "payrun run "+sheetPath, "wait for it to finish")
		if err != nil {
			return err
		}
		defer lock.Release()
	}

	// 3. MassPay (the sandbox starts only now, under the lock).
	if conn == nil {
		if conn, err = m.openAPI(ctx, c.api, log, ledgerPath); err != nil {
			return err
		}
		defer conn.Close()
	}
	var approved ledger.Plan
	if c.requireApproval {
		if approved, err = m.checkApproval(ctx, l, sheetPath, sum, conn.Env); err != nil {
			return err
		}
	}
	bals, err := routing.FetchBalances(ctx, conn.Client)
	if err != nil {
		return apiFailure("fetch balances", err)
	}
	before := ledger.Balances{}
	for _, b := range bals {
		before[b.CurrencyCode] = b.Balance
	}

	// 4. Record the run and its rows; conflicts are reported, never paid.
	var problems map[int][]string
	if c.skipInvalid {
		problems = errorsByLine(rep)
	}
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: sheetPath, SheetSHA256: sum, Operator: operator(), Environment: conn.Env, BalancesBefore: before,
		IngestKey: ingestKey(sum, ingestOpts, problems)})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("begin run: %w", err)}
	}
	runField.set(run.ID)
	if claimOwner != "" {
		cmd := firstNonEmpty(c.leaseCommand, "payrun run "+sheetPath)
		endLease, err := runlease.Hold(ctx, l, log, claimOwner, run.ID, cmd, c.claimLease)
		if err != nil {
			return &ExitError{Code: ExitAborted, Err: err}
		}
		defer endLease()
	}
	if c.requireApproval {
		_, _ = l.AppendEvent(ctx, ledger.Event{Kind: ledger.EventRun, RunID: run.ID,
			Message: fmt.Sprintf("run %d pays plan %d, prepared by %s and approved by %s", run.ID, approved.ID, approved.PreparedBy, approved.DecidedBy)})
	}
	// A sheet an earlier run read and settled in full is not read again:
	// its rows are taken over in a few statements (issue 21).
	var conflicts []ledger.Upserted
	copied, copiedCounts, err := l.CopySettledRunCounted(ctx, run.ID)
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	if copied == 0 {
		if conflicts, err = ingest.RecordSheet(ctx, l, run.ID, sheetPath, ingestOpts, problems); err != nil {
			return &ExitError{Code: ExitAborted, Err: err}
		}
	}
	for _, cf := range conflicts {
		fmt.Fprintf(m.humanOut(), "row %d: client_transfer_id %q is already in the ledger with different content (state %s); CONFLICT, not paid\n",
			cf.Line, cf.ID, cf.Conflict.ExistingState)
	}

	if c.retry {
		n, err := l.RetryNeedsAction(ctx, run.ID)
		if err != nil {
			return &ExitError{Code: ExitAborted, Err: err}
		}
		if n > 0 {
			fmt.Fprintf(m.humanOut(), "Retrying %s that needed a person last time.\n", plural.Count(n, "row"))
		}
	}

	// 5. Plan what is left to pay; refuse a shortfall unless allowed.
	toPlan, err := m.rowsToPlan(ctx, l, run.ID, claimOwner)
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	plan, err := pricing.MakePlan(ctx, conn.Client, toPlan)
	if err != nil {
		return apiFailure("plan the run", err)
	}
	m.printPlan(plan)
	if len(plan.Shortfall) > 0 && !c.allowPartial {
		fmt.Fprintln(m.humanOut(), "\nThe MassPay balance does not cover this sheet. Nothing was paid. Add funds, or pass --allow-partial to pay what it covers.")
		_, _ = l.FinishRun(ctx, run.ID, ledger.RunFinish{Status: ledger.RunAborted, BalancesAfter: before})
		return Attention()
	}
	if plan.Rows > 0 && !c.yes {
		again := "payrun run " + shellQuote(sheetPath) + allGivenFlags(fs) + " --yes"
		ok, err := m.confirm(ctx, fmt.Sprintf("Pay %s now (%s)? [y/N] ", plural.Count(plan.Rows, "row"), conn.Env), again)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(m.humanOut(), "Not confirmed; nothing was paid.")
			_, _ = l.FinishRun(context.WithoutCancel(ctx), run.ID, ledger.RunFinish{Status: ledger.RunAborted, BalancesAfter: before})
			return &ExitError{Code: ExitAborted, Err: errSilent}
		}
	}

	// 6. Pay. The first SIGINT/SIGTERM stops new rows (the root context);
	// a second abandons calls in flight.
	hard, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	stopSecond := abortOnSecondSignal(ctx, abort, m)
	defer stopSecond()
	view := newProgressView(m.Stderr, m.isTerminal(m.Stderr), log)
	stopView := context.AfterFunc(ctx, view.Stopping)
	onProgress := view.Update
	if m.progressHook != nil {
		onProgress = func(p batch.Progress) { view.Update(p); m.progressHook(p) }
	}
	r := &batch.Runner{API: conn.Client, Ledger: l, Flow: fl, Log: log, OnProgress: onProgress,
		ClaimOwner: claimOwner, ClaimLease: c.claimLease}
	var (
		stats  batch.Stats
		runErr error
	)
	if copied != 0 && plan.Rows == 0 {
		// Every row was settled by the run copied from, which finished
		// (its autopay settled too): nothing to work, nothing to ask,
		// and the copy counted them.
		stats.Counts = copiedCounts
	} else {
		stats, runErr = r.Run(ctx, hard, run.ID)
		if claimOwner != "" {
			log.Info().Str("runner", claimOwner).Int("rows_worked", stats.Worked).Msg("rows this runner worked; other runners on this ledger worked the rest")
		}
	}
	stopView()
	view.Finish()

	// 7. Results, always, from the ledger.
	after := before
	if bals, err := conn.Client.Balances(hard); err == nil {
		after = ledger.Balances{}
		for _, b := range bals {
			after[b.CurrencyCode] = b.Balance
		}
	}
	status := ledger.RunFinished
	if runErr != nil || stats.Interrupted {
		status = ledger.RunAborted
	}
	if _, err := l.FinishRun(context.WithoutCancel(ctx), run.ID, ledger.RunFinish{Status: status, BalancesAfter: after}); err != nil {
		log.Error().Err(err).Msg("record end of run")
	}
	out := c.out
	if out == "" {
		out = results.DefaultResultsPath(sheetPath, format)
	}
	// A signal while the results are written stops them (systemd's
	// SIGTERM must not wait on a wide sheet): payrun report writes them
	// again from the ledger. After a run the first signal already
	// stopped, the results still come, unless a second signal arrives.
	resCtx := ctx
	if ctx.Err() != nil {
		resCtx = hard
	}
	// KYC notices leave before the results are written, so the Needs
	// action sheet says which links were emailed.
	// One alert sender for everything this run tells people (nil when no
	// channel is configured).
	notify := m.notifier(l, log, c.kycNotice)
	if runErr == nil && !stats.Interrupted {
		m.alertKYC(ctx, notify, run.ID)
	}
	flips, _ := reconcile.LedgerFlips(context.WithoutCancel(ctx), l, run.ID)
	res, werr := results.WriteResults(resCtx, l, run.ID, out, results.ResultsOptions{Format: format, Flips: flips, Mode: c.resultsMode.mode,
		Warnings: sheet.SummarizeWarnings(rep.Problems)})
	if werr != nil {
		log.Error().Err(werr).Msg("write results")
	} else if err := recordResults(ctx, l, run.ID, res.Path); err != nil {
		log.Error().Err(err).Msg("record results path")
	}
	m.printRunSummary(run.ID, stats, res, werr == nil && !c.resultsMoved)
	c.nothingToPay = werr == nil && runErr == nil && !stats.Interrupted && res.NothingToPay()
	if halted := r.Halted(); len(halted) > 0 {
		m.alertFunds(ctx, notify, run.ID, sheetPath, halted, after)
	}
	if runErr == nil && !stats.Interrupted && werr == nil {
		c.ran = alert.RunInfo{RunID: run.ID, Sheet: sheetPath, Env: conn.Env, Results: absPath(res.Path), Totals: res.Totals}
		if !c.alertsByCaller {
			m.alertRun(ctx, notify, c.ran)
		}
	}

	if runErr != nil && ctx.Err() == nil && (c.yes || c.alertsByCaller) {
		// Stopped on its own (MassPay refused the key, the ledger
		// failed, ...) with nobody watching: say so. A run stopped by a
		// signal was stopped by someone.
		m.alertAborted(ctx, notify,
			alert.AbortInfo{RunID: run.ID, Sheet: sheetPath, Env: conn.Env, Reason: runErr.Error()})
	}
	switch {
	case runErr != nil:
		return &ExitError{Code: ExitAborted, Err: runErr}
	case stats.Interrupted:
		fmt.Fprintln(m.humanOut(), "Interrupted. Run the same command again to finish: rows already paid will not be paid twice.")
		return &ExitError{Code: ExitAborted, Err: errSilent}
	case werr != nil && errors.Is(werr, context.Canceled):
		fmt.Fprintf(m.humanOut(), "Interrupted while writing the results; the payments are recorded. Write them with: payrun report --run %d --ledger %s\n", run.ID, shellQuote(ledgerPath))
		return &ExitError{Code: ExitAborted, Err: errSilent}
	case werr != nil:
		return &ExitError{Code: ExitAttention, Err: fmt.Errorf("write results: %w", werr)}
	}
	if allPaid(stats.Counts) {
		return nil
	}
	return Attention()
}

// abortOnSecondSignal cancels abort when a second SIGINT/SIGTERM arrives
// after ctx (the first) is done.
func abortOnSecondSignal(ctx context.Context, abort context.CancelFunc, m *Main) func() {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		fmt.Fprintln(m.humanOut(), "\nStopping: no new rows start; payments in flight finish. Press Ctrl-C again to abandon them (safe: the next run settles them).")
		// The first signal is already in ch (it is what cancelled ctx, or
		// will be shortly); wait for one more.
		seen := 0
		for {
			select {
			case <-done:
				return
			case <-ch:
				seen++
				if seen >= 2 {
					abort()
					return
				}
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}

// absPath is p made absolute where it can be, for messages read elsewhere.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
