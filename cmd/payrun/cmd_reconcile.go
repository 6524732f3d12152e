package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/ledger"
)

// ReconcileCommand asks MassPay for the current status of every committed
// payout and load in the ledger, records the changes, reports flips and
// compares the account balance with the ledger's expectation.
type ReconcileCommand struct {
	api     apiFlags
	log     logFlags
	ledger  string
	since   string
	runID   int64
	workers int
}

const reconcileUsage = "[--ledger FILE] [--since YYYY-MM-DD] [--run ID] [--workers N] [api flags]"

// defaultReconcileWindow is how far back reconcile looks by default: flips
// come weeks, not months, after a payout settles.
const defaultReconcileWindow = 60 * 24 * time.Hour

// Run reconciles; it exits 1 on a flip, a balance difference or a row it
// could not check.
func (c *ReconcileCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("reconcile", reconcileUsage)
	c.api.register(fs)
	c.log.register(fs)
	ledgerFlag(fs, &c.ledger)
	fs.StringVar(&c.since, "since", "", "skip payments settled before this date, and start the balance check at the first run since (default: 60 days ago)")
	fs.Int64Var(&c.runID, "run", 0, "check only this run's rows (default: all)")
	fs.IntVar(&c.workers, "workers", 8, "payments checked at once")
	if err := m.parseFlags(fs, args, "payrun reconcile --since 2025-03-01"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: "payrun reconcile " + reconcileUsage}
	}
	since := time.Now().Add(-defaultReconcileWindow)
	if c.since != "" {
		t, err := time.Parse(time.DateOnly, c.since)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("parse --since: %w", err), Hint: "payrun reconcile --since 2025-03-01"}
		}
		since = t
	}
	log, closeLog, err := m.logger(c.log)
	if err != nil {
		return err
	}
	defer closeLog()
	l, err := openExistingLedger(ctx, m.defaultLedger(c.ledger, c.api.sandbox), false)
	if err != nil {
		return err
	}
	defer l.Close()
	conn, err := m.openAPI(ctx, c.api, log, l.Path())
	if err != nil {
		return err
	}
	defer conn.Close()

	rec := &reconcile.Reconciler{API: conn.Client, Ledger: l, Workers: c.workers, RunID: c.runID, Since: since, Log: log}
	rep, err := rec.Reconcile(ctx)
	if werr := reconcile.WriteReconcileSummary(m.Stdout, rep); werr != nil && err == nil {
		err = werr
	}
	if n := m.notifier(l, log, ""); n != nil {
		// Flips and differences found before an error are alerted too.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertBudget)
		n.Reconciled(actx, rep)
		cancel()
	}
	if err != nil {
		return err
	}
	if rep.NeedsAttention() {
		return Attention()
	}
	return nil
}

// openExistingLedger opens a ledger that must already exist: reconcile,
// webhooks and confirmations work on what a run recorded, and a mistyped
// path must not silently create an empty ledger.
func openExistingLedger(ctx context.Context, path string, readOnly bool) (*ledger.Ledger, error) {
	if err := statLedger(path); err != nil {
		return nil, &UsageError{Err: fmt.Errorf("open ledger %s: %w", path, err), Hint: "--ledger path/to/payrun.db"}
	}
	l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: readOnly})
	if errors.Is(err, ledger.ErrOlderSchema) {
		return nil, &UsageError{Err: err, Hint: "run payrun reconcile (read-write) once to migrate the ledger"}
	}
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	return l, nil
}
