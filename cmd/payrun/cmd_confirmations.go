package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// ConfirmationsCommand downloads the PDF confirmation of every completed
// payout of a run, named by client_transfer_id.
type ConfirmationsCommand struct {
	api       apiFlags
	log       logFlags
	ledger    string
	runID     int64
	dir       string
	overwrite bool
}

const confirmationsUsage = "--dir DIR [--run ID] [--ledger FILE] [--overwrite] [api flags]"

// Run downloads the confirmations; it exits 1 when some could not be fetched.
func (c *ConfirmationsCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("confirmations", confirmationsUsage)
	c.api.register(fs)
	c.log.register(fs)
	ledgerFlag(fs, &c.ledger)
	runIDFlag(fs, &c.runID)
	fs.StringVar(&c.dir, "dir", "", "directory to save the PDFs in (required)")
	fs.BoolVar(&c.overwrite, "overwrite", false, "download again PDFs already in the directory")
	if err := m.parseFlags(fs, args, "payrun confirmations --run 3 --dir confirmations/"); err != nil {
		return err
	}
	if fs.NArg() > 0 || c.dir == "" {
		return &UsageError{Err: errors.New("--dir is required"), Hint: "payrun confirmations " + confirmationsUsage}
	}
	log, closeLog, err := m.logger(c.log)
	if err != nil {
		return err
	}
	defer closeLog()
	l, err := openExistingLedger(ctx, m.defaultLedger(c.ledger, c.api.sandbox), true)
	if err != nil {
		return err
	}
	defer l.Close()
	var run ledger.Run
	if c.runID > 0 {
		run, err = l.Run(ctx, c.runID)
	} else {
		run, err = l.LatestRun(ctx)
	}
	if errors.Is(err, ledger.ErrNotFound) {
		return &UsageError{Err: fmt.Errorf("no such run in %s", l.Path()), Hint: "payrun status --ledger " + l.Path()}
	}
	if err != nil {
		return fmt.Errorf("read run: %w", err)
	}
	conn, err := m.openAPI(ctx, c.api, log, l.Path())
	if err != nil {
		return err
	}
	defer conn.Close()
	res, err := exports.DownloadConfirmations(ctx, conn.Client, l, run.ID, c.dir, exports.ConfirmationOptions{Overwrite: c.overwrite})
	fmt.Fprintf(m.Stdout, "Run %d: %s saved in %s, %d already there, %d failed.\n", run.ID, plural.Count(len(res.Written), "confirmation"), c.dir, res.Skipped, len(res.Problems))
	for _, p := range res.Problems {
		fmt.Fprintf(m.Stdout, "  %s: %s\n", p.ClientTransferID, p.Err)
	}
	if err != nil {
		return err
	}
	if len(res.Problems) > 0 {
		return Attention()
	}
	return nil
}
