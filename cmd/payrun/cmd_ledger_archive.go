package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrun/payrun/ledger"
)

const archiveUsage = "archive --before DATE [--ledger FILE] [--archive FILE]"

// archive moves the finished runs begun before --before to an archive file
// (payrun ledger archive), so the working ledger stays small over the years.
// It holds the ledger's lock: no run may change the rows it moves.
func (c *LedgerCommand) archive(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("ledger archive", "--before DATE [--ledger FILE] [--archive FILE]")
	ledgerPath := fs.String("ledger", "", "the ledger file (env PAYRUN_LEDGER; default payrun.db)")
	before := fs.String("before", "", "move runs begun before this day, YYYY-MM-DD (local time)")
	archivePath := fs.String("archive", "", "the archive file (default: <ledger>-archive.db beside the ledger); created 0600, added to when it exists")
	hint := "payrun ledger archive --before 2026-01-01"
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: hint}
	}
	if *before == "" {
		return &UsageError{Err: errors.New("ledger archive needs --before DATE"), Hint: hint}
	}
	day, err := time.ParseInLocation("2006-01-02", *before, time.Local)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("read --before %q: want a day as YYYY-MM-DD", *before), Hint: hint}
	}
	path := m.defaultLedger(*ledgerPath, false)
	if err := statLedger(path); err != nil {
		return &UsageError{Err: fmt.Errorf("open ledger %s: %w", path, err), Hint: hint}
	}
	dest := *archivePath
	if dest == "" {
		dest = defaultArchivePath(path)
	}
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	defer l.Close()
	lk, err := lockLedger(ctx, l, path, "payrun ledger archive", "archive once it is done")
	if err != nil {
		return err
	}
	defer lk.Release()
	res, err := l.Archive(ctx, dest, day)
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	if len(res.Runs) == 0 {
		fmt.Fprintf(m.Stdout, "No run to archive: none begun before %s is finished with every row final.\n", *before)
		return nil
	}
	ids := make([]string, len(res.Runs))
	for i, id := range res.Runs {
		ids[i] = fmt.Sprint(id)
	}
	fmt.Fprintf(m.Stdout, "Archived %d runs (%s): %d rows, %d events.\nArchive: %s\n",
		len(res.Runs), strings.Join(ids, ", "), res.Rows, res.Events, res.Path)
	fmt.Fprintf(m.Stdout, "payrun report --run N and payrun status --run N read them from there.\n")
	return nil
}

// defaultArchivePath is the archive beside the ledger: payrun.db ->
// payrun-archive.db.
func defaultArchivePath(ledgerPath string) string {
	return ledgerSibling(ledgerPath, "-archive.db")
}

// openArchivedRun opens, read-only, the archive that the ledger l says holds
// run runID; ok is false when the run was never archived.
func openArchivedRun(ctx context.Context, l *ledger.Ledger, runID int64) (*ledger.Ledger, ledger.Run, bool, error) {
	p, err := l.ArchiveOf(ctx, runID)
	if err != nil || p == "" {
		return nil, ledger.Run{}, false, err
	}
	arc, err := openReadOnly(ctx, p)
	if err != nil {
		return nil, ledger.Run{}, true, fmt.Errorf("open archive %s of run %d: %w", p, runID, err)
	}
	run, err := arc.Run(ctx, runID)
	if err != nil {
		arc.Close()
		return nil, ledger.Run{}, true, fmt.Errorf("read run %d from archive %s: %w", runID, p, err)
	}
	return arc, run, true, nil
}
