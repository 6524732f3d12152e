package main

import (
	"context"
	"fmt"
	"os"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/cmd/payrun/internal/resultsnote"
)

// StatusCommand shows where a run stands: rows by state, what was paid per
// currency, and every row a person must act on, with its reason and link.
type StatusCommand struct {
	ledgerPath string
	runID      int64
	sandbox    bool
}

// Run prints the status. Exit 0 when every row is paid, 1 otherwise.
func (c *StatusCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("status", "[--ledger FILE] [--run ID]")
	ledgerFlag(fs, &c.ledgerPath)
	sandboxLedgerFlag(fs, &c.sandbox)
	runIDFlag(fs, &c.runID)
	if err := m.parseFlags(fs, args, "payrun status --run 3"); err != nil {
		return err
	}
	path := m.defaultLedger(c.ledgerPath, c.sandbox)
	l, run, err := openRun(ctx, path, c.runID)
	if err != nil {
		return err
	}
	defer l.Close()
	counts, err := l.Counts(ctx, run.ID)
	if err != nil {
		return fmt.Errorf("count rows: %w", err)
	}
	finished := "still running or interrupted"
	if !run.FinishedAt.IsZero() {
		finished = "ended " + run.FinishedAt.Local().Format("2006-01-02 15:04") + " (" + string(run.Status) + ")"
	}
	fmt.Fprintf(m.Stdout, "Run %d of %s (%s), started %s by %s, %s\n", run.ID, run.SheetName, run.Environment,
		run.StartedAt.Local().Format("2006-01-02 15:04"), run.Operator, finished)
	fmt.Fprintf(m.Stdout, "Rows: %s\n", stateCounts(counts))
	// Where the results lie now: the header names the sheet where it was
	// when the run began, which for the inbox is incoming/, since emptied.
	if p, err := resultsnote.Recorded(ctx, l, run.ID); err != nil {
		return err
	} else if p != "" {
		if _, err := os.Stat(p); err == nil {
			fmt.Fprintf(m.Stdout, "Results: %s\n", p)
		} else {
			fmt.Fprintf(m.Stdout, "Results: %s, not there now; payrun report --run %d --ledger %s writes them again\n", p, run.ID, shellQuote(path))
		}
	}

	// A run's totals are what it moved itself; rows another run settled
	// are named apart, so the status of a re-run never shows a second
	// payment.
	sum, err := results.SummarizeRun(ctx, l, run.ID)
	if err != nil {
		return err
	}
	for _, t := range sum.Totals {
		fmt.Fprintf(m.Stdout, "Paid %s by this run: %s, fees %s\n", t.Currency, sheet.FormatAmount(t.Paid, t.Currency), sheet.FormatAmount(t.Fees, t.Currency))
	}
	if t := sum.EarlierText(); t != "" {
		fmt.Fprintf(m.Stdout, "%s; not paid again\n", t)
	}
	if t := sum.LaterText(); t != "" {
		fmt.Fprintln(m.Stdout, t)
	}
	if err := printRowsToAct(ctx, m.Stdout, l, run.ID); err != nil {
		return err
	}
	if allPaid(counts) {
		return nil
	}
	return Attention()
}
