package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/ledger"
)

// InboxCommand pays every sheet dropped into DIR/incoming, for cron: each
// sheet is run exactly like `payrun run --yes` (the same RunCommand, called
// with arguments) and then moved with its results workbook to
// DIR/done/<date>/ or DIR/failed/<date>/.
//
// Safety rules:
//   - A sheet is taken only when its size and modification time stayed the
//     same for the settle time, and temp names (dotfiles, ~$*, *.tmp, *.part,
//     *.crdownload) and other extensions are ignored: a sheet still being
//     copied in is never paid half-written.
//   - One inbox works a folder at a time (an flock on DIR/.payrun-inbox.lock),
//     and a ledger in use by any payrun run makes the inbox exit 3 at once:
//     cron starting it again while the last one runs changes nothing.
//   - On a PostgreSQL ledger the flock is per host
//     (DIR/.payrun-inbox.<host>.lock) and each sheet is taken under a lease
//     in the ledger (inbox_lease.go): inboxes on several hosts, on one
//     shared folder or each on its own copy, pay each sheet once, and a
//     dead host's sheet is taken over once its lease lapses.
//   - A sheet whose run was interrupted (signal, crash, locked ledger) stays
//     in incoming: the next tick re-runs it, which resumes without paying
//     anyone twice.
//   - With require_approval on, a sheet without an approved plan stays in
//     incoming until someone approves its plan; the next tick pays it.
type InboxCommand struct {
	api             apiFlags
	logs            logFlags
	sheet           sheetFlags
	ledgerPath      string
	workers         int
	requireApproval bool
	allowPartial    bool
	settle          string
	once            bool
	create          bool
	interval        time.Duration
	kycNotice       string // passed on to payrun run
	// claimLease (PostgreSQL ledger) is how long a sheet this inbox took
	// stays its own without a renewal; passed on to payrun run, for the
	// rows its run claims, when given.
	claimLease time.Duration
}

const inboxUsage = "[flags] DIR"

// inboxOnly are the inbox's own flags, not passed on to payrun run.
var inboxOnly = map[string]bool{"settle": true, "once": true, "interval": true, "create": true}

// Outcomes of one sheet.
const (
	sheetDone     = "done"
	sheetNothing  = "nothing to pay"
	sheetFailed   = "failed"
	sheetWaiting  = "awaiting approval"
	sheetDeferred = "left for the next tick"
)

// Run works the inbox once (--once) or every --interval until a signal.
func (c *InboxCommand) Run(ctx context.Context, m *Main, args []string) error {
	hint := "payrun inbox --sandbox --once /srv/payrun/inbox"
	fs := m.newFlagSet("inbox", inboxUsage)
	c.api.register(fs)
	c.logs.register(fs)
	c.sheet.register(fs)
	ledgerFlagDefault(fs, &c.ledgerPath, "DIR/payrun.db, or DIR/payrun-sandbox.db with --sandbox")
	workersFlag(fs, &c.workers)
	maxWorkersFlag(fs, new(int)) // forwarded to payrun run by name, like every flag given
	requireApprovalFlag(fs, &c.requireApproval)
	allowPartialFlag(fs, &c.allowPartial)
	settleFlag(fs, &c.settle)
	fs.BoolVar(&c.once, "once", false, "work the sheets present now, then exit (cron, systemd timer)")
	fs.BoolVar(&c.create, "create", false, "create DIR and its incoming, done and failed folders if missing (once, when setting the inbox up)")
	fs.DurationVar(&c.interval, "interval", time.Minute, "without --once: how often to look for new sheets")
	kycNoticeFlag(fs, &c.kycNotice)
	fs.DurationVar(&c.claimLease, "claim-lease", 30*time.Second, "PostgreSQL ledger: how long a sheet this inbox took (and each row its run claimed) stays its own without a renewal; a dead host's sheet is taken over by another host's inbox after it")
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	pos := fs.Args()
	if len(pos) != 1 {
		return &UsageError{Err: errors.New("give one inbox folder"), Hint: hint}
	}
	dir := pos[0]
	log, closeLog, err := m.logger(c.logs)
	if err != nil {
		return err
	}
	defer closeLog()
	log = log.With().Str("inbox", dir).Logger()
	settle, err := parseSettle(firstNonEmpty(c.settle, m.Getenv("PAYRUN_INBOX_SETTLE"), "5s"))
	if err != nil {
		return &UsageError{Err: fmt.Errorf("settle time: %w", err), Hint: "--settle 5s"}
	}
	created, err := prepareInbox(dir, c.create)
	if err != nil {
		return err
	}
	if created {
		// The setup step says what it did: an empty tick prints nothing
		// (cron mails nothing), which after --create read as a failure.
		fmt.Fprintf(m.Stdout, "Set up inbox %s: drop sheets (.csv, .xlsx) into %s; each tick files them with their results in %s/<date>/ or %s/<date>/.\n",
			dir, filepath.Join(dir, "incoming"), filepath.Join(dir, "done"), filepath.Join(dir, "failed"))
	}
	ledgerPath := c.ledgerPath
	if ledgerPath == "" && m.Getenv("PAYRUN_LEDGER") == "" {
		// The inbox is self-contained: cron's working directory is
		// nobody's choice.
		ledgerPath = filepath.Join(dir, m.defaultLedgerName(c.api.sandbox))
	}
	ledgerPath = m.defaultLedger(ledgerPath, c.api.sandbox)

	if c.claimLease <= 0 {
		return &UsageError{Err: fmt.Errorf("claim lease %v: give a positive duration", c.claimLease), Hint: "--claim-lease 30s"}
	}
	pg := ledger.IsPostgresURL(ledgerPath)
	host := inboxHost(m)
	lockName := ".payrun-inbox.lock"
	if pg {
		// Per host: other hosts' inboxes on this folder are kept apart
		// by the sheet leases, not by an flock a network folder may not
		// honour and a dead host may leave behind.
		lockName = ".payrun-inbox." + fileSafe(host) + ".lock"
	}
	unlock, err := lockInbox(dir, lockName)
	if err != nil {
		return err
	}
	defer unlock()
	runArgs := []string{"--yes", "--ledger", ledgerPath}
	fs.Visit(func(f *flag.Flag) {
		if !inboxOnly[f.Name] && f.Name != "ledger" {
			runArgs = append(runArgs, "--"+f.Name+"="+f.Value.String())
		}
	})
	w := &inboxWorker{m: m, dir: dir, settle: settle, ledgerPath: ledgerPath, runArgs: runArgs, log: log}
	if pg {
		w.ingestOpts, _, _ = c.sheet.options(m.Getenv)
		w.host, w.owner, w.lease = host, inboxOwner(host), c.claimLease
	}
	for {
		// MassPay first, with this key, as payrun run does: a tick that
		// cannot pay (no key, a key MassPay refuses) stops before the
		// ledger is touched and leaves every sheet in incoming, where it
		// is not at fault; each tick asks again, so a key revoked between
		// paydays shows in cron's mail the day it happens.
		conn, err := m.preflightAPI(ctx, c.api, log)
		if err != nil {
			return err
		}
		conn.Close()
		if err := probeLedger(ctx, ledgerPath); err != nil {
			return err
		}
		res, err := w.pass(ctx)
		if err != nil || c.once {
			if err == nil {
				err = res.exit()
			}
			return err
		}
		select {
		case <-ctx.Done():
			return res.exit()
		case <-time.After(c.interval):
		}
	}
}

// inboxWorker works one inbox folder.
type inboxWorker struct {
	m          *Main
	dir        string
	settle     time.Duration
	ledgerPath string
	runArgs    []string // flags for payrun run, before the sheet
	log        zerolog.Logger
	// owner, on a PostgreSQL ledger, names this inbox in the sheet leases
	// it takes (ingestOpts key them, lease is their length, host names
	// this host); "" on SQLite, one host's ledger, where none are taken.
	owner      string
	host       string
	lease      time.Duration
	ingestOpts ingest.IngestOptions
}

// passResult counts a pass's sheets by outcome.
type passResult map[string]int

// exit is the inbox's exit: 1 when a sheet needs a person, else 0.
func (r passResult) exit() error {
	if r[sheetFailed]+r[sheetWaiting] > 0 {
		return Attention()
	}
	return nil
}

// pass takes every settled sheet in incoming and runs it. It stops at the
// first run that aborted (exit 3) and returns that error.
func (w *inboxWorker) pass(ctx context.Context) (passResult, error) {
	res := passResult{}
	incoming := filepath.Join(w.dir, "incoming")
	first, err := sheetsIn(incoming)
	if err != nil {
		return res, &ExitError{Code: ExitAborted, Err: err}
	}
	if len(first) == 0 {
		w.log.Debug().Msg("no new sheets")
		return res, nil
	}
	select {
	case <-ctx.Done():
		return res, &ExitError{Code: ExitAborted, Err: ctx.Err()}
	case <-time.After(w.settle):
	}
	second, err := sheetsIn(incoming)
	if err != nil {
		return res, &ExitError{Code: ExitAborted, Err: err}
	}
	names := make([]string, 0, len(second))
	for name, st := range second {
		if prev, ok := first[name]; ok && prev == st && st.size > 0 {
			names = append(names, name)
		} else {
			w.log.Info().Str("sheet", name).Msg("sheet still changing; left for the next tick")
			res[sheetDeferred]++
		}
	}
	sort.Strings(names)
	for _, name := range names {
		if isResultsName(name) {
			if err := w.setAside(name); err != nil {
				return res, err
			}
			continue
		}
		outcome, err := w.runSheet(ctx, name)
		res[outcome]++
		if err != nil {
			return res, err
		}
	}
	fmt.Fprintf(w.m.Stdout, "Inbox %s: %d done, %d nothing to pay, %d failed, %d awaiting approval, %d left for the next tick\n",
		w.dir, res[sheetDone], res[sheetNothing], res[sheetFailed], res[sheetWaiting], res[sheetDeferred])
	return res, nil
}

// runSheet runs one sheet like `payrun run --yes` and files it by outcome.
// A non-nil error means stop the pass (exit 3: the run was aborted).
func (w *inboxWorker) runSheet(ctx context.Context, name string) (string, error) {
	path := filepath.Join(w.dir, "incoming", name)
	work := filepath.Join(w.dir, ".work")
	log := w.log.With().Str("sheet", name).Logger()
	var held *heldSheet
	if w.owner != "" {
		var (
			holder string
			err    error
		)
		held, holder, err = w.takeSheet(ctx, name, path)
		switch {
		case errors.Is(err, errSheetGone):
			log.Info().Msg("sheet moved away by another inbox; skipped")
			return sheetGone, nil
		case err != nil:
			log.Error().Err(err).Msg("take sheet lease; sheet left in incoming for the next tick")
			return sheetDeferred, &ExitError{Code: ExitAborted, Err: err}
		case held == nil:
			log.Info().Str("holder", holder).Msg("sheet being paid by another inbox; left for the next tick")
			fmt.Fprintf(w.m.Stdout, "%s: being paid by %s; left for the next tick\n", name, holder)
			return sheetDeferred, nil
		}
		defer held.release(ctx)
		// Each host its own work folder: on a shared folder, a host
		// that took a stalled host's sheet over must not overwrite the
		// results the stalled one is still writing.
		work = filepath.Join(work, fileSafe(w.host))
	}
	if err := os.MkdirAll(work, 0o750); err != nil {
		return sheetDeferred, &ExitError{Code: ExitAborted, Err: fmt.Errorf("create inbox work folder: %w", err)}
	}
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	out := filepath.Join(work, stem+".results.xlsx")
	mistakes := filepath.Join(work, stem+".mistakes.txt")
	_ = os.Remove(out)
	_ = os.Remove(mistakes)
	log.Info().Msg("paying sheet")
	fmt.Fprintf(w.m.humanOut(), "== %s\n", name)
	rc := &RunCommand{resultsMoved: true, mistakesOut: mistakes, alertsByCaller: true, leaseCommand: inboxLeaseCommand + w.dir}
	err := rc.Run(ctx, w.m, append(append([]string{}, w.runArgs...), "--out", out, path))
	code := ExitCode(err)
	if err != nil && !errors.Is(err, errSilent) {
		fmt.Fprintln(w.m.humanOut(), "payrun: "+err.Error())
	}
	outcome, sub := sheetFailed, "failed"
	switch {
	case code == ExitOK && rc.nothingToPay:
		// A sheet dropped again after it was paid: filed apart, so a
		// second copy in done/ never reads as a second payment.
		outcome, sub = sheetNothing, "nothing-to-pay"
	case code == ExitOK:
		outcome, sub = sheetDone, "done"
	case errors.Is(err, errNotApproved):
		log.Warn().Msg("sheet awaits an approved plan; left in incoming")
		return sheetWaiting, nil
	case code == ExitAborted:
		log.Error().Int("exit", code).Msg("run aborted; sheet left in incoming for the next tick")
		return sheetDeferred, err
	}
	if held != nil && !held.keep(ctx) {
		// Taken over while this host stalled: the new holder files it.
		log.Warn().Msg("sheet lease lost during the run; the inbox that took the sheet over files it")
		return sheetDeferred, nil
	}
	dest, results, err := fileSheet(path, out, mistakes, filepath.Join(w.dir, sub, time.Now().Format("2006-01-02")))
	if errors.Is(err, os.ErrNotExist) {
		if _, serr := os.Lstat(path); errors.Is(serr, os.ErrNotExist) {
			log.Info().Msg("sheet moved away by another inbox; skipped")
			return sheetGone, nil
		}
	}
	if err != nil {
		log.Error().Err(err).Msg("move sheet")
		return outcome, &ExitError{Code: ExitAborted, Err: err}
	}
	log.Info().Int("exit", code).Str("outcome", outcome).Str("moved_to", dest).Str("results", results).Msg("sheet filed")
	if rc.ran.RunID != 0 {
		rc.ran.Results = absPath(results)
	}
	w.afterFiling(ctx, rc, results)
	fmt.Fprintf(w.m.Stdout, "%s: %s, filed as %s\n", name, outcome, dest)
	if strings.HasSuffix(results, ".mistakes.txt") {
		fmt.Fprintf(w.m.Stdout, "Mistakes: %s\n", results)
	} else if results != "" {
		fmt.Fprintf(w.m.Stdout, "Results: %s\n", results)
	}
	return outcome, nil
}

// afterFiling records where a filed sheet's results now lie (payrun report
// writes there) and sends its run alerts, naming them there.
func (w *inboxWorker) afterFiling(ctx context.Context, rc *RunCommand, results string) {
	// A run that wrote its results set rc.ran; a refused sheet filed
	// its mistakes instead.
	if rc.ran.RunID == 0 || results == "" || strings.HasSuffix(results, ".mistakes.txt") {
		return
	}
	l, err := ledger.Open(context.WithoutCancel(ctx), w.ledgerPath, ledger.Options{})
	if err != nil {
		w.log.Error().Err(err).Msg("alerts not sent, results path not recorded: open ledger")
		return
	}
	defer l.Close()
	if err := recordResults(ctx, l, rc.ran.RunID, results); err != nil {
		w.log.Error().Err(err).Msg("record results path")
	}
	w.m.alertRun(ctx, w.m.notifier(l, w.log, rc.kycNotice), rc.ran)
}
