package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/payrun/payrun/internal/dirsync"
	"github.com/payrun/payrun/ledger"
)

// LedgerCommand exports, backs up, archives or migrates the ledger:
// `payrun ledger export`, `payrun ledger backup DEST`, `payrun ledger
// archive --before DATE` and `payrun ledger migrate --from FILE --to URL`.
type LedgerCommand struct{}

const ledgerUsage = "export [--ledger FILE] [--format jsonl|csv] [--table all|runs|rows|run_rows|conflicts|events] [--out FILE]\n" +
	"       payrun ledger backup [--ledger FILE] DEST\n" +
	"       payrun ledger " + archiveUsage + "\n" +
	"       payrun ledger " + migrateUsage

// Run dispatches to the ledger subcommand.
func (c *LedgerCommand) Run(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		return &UsageError{Err: errors.New("ledger: missing subcommand (export, backup, archive or migrate)"), Hint: "payrun ledger export --out ledger.jsonl"}
	}
	switch args[0] {
	case "export":
		return c.export(ctx, m, args[1:])
	case "backup":
		return c.backup(ctx, m, args[1:])
	case "archive":
		return c.archive(ctx, m, args[1:])
	case "migrate":
		return (&LedgerMigrateCommand{}).Run(ctx, m, args[1:])
	case "-h", "--help", "help":
		return m.groupHelp("ledger", ledgerUsage)
	}
	return unknownCommand("ledger", args[0], []string{"export", "backup", "archive", "migrate"})
}

// export writes the ledger's tables as JSON lines or one table as CSV. It
// opens the ledger read-only, so it may run while a run is active.
func (c *LedgerCommand) export(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("ledger export", "[--ledger FILE] [--format jsonl|csv] [--table all|runs|rows|run_rows|conflicts|events] [--out FILE]")
	var ledgerPath string
	ledgerFlag(fs, &ledgerPath)
	format := fs.String("format", "", "jsonl or csv (default: from --out's extension, else jsonl)")
	table := fs.String("table", "", "which table: all (jsonl only), runs, rows, run_rows, conflicts or events (default: all for jsonl, rows for csv)")
	out := fs.String("out", "", "file to write (default: standard output); written atomically, mode 0600")
	hint := "payrun ledger export --format csv --table events --out events.csv"
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: hint}
	}
	f := strings.ToLower(*format)
	if f == "" {
		f = "jsonl"
		if strings.EqualFold(filepath.Ext(*out), ".csv") {
			f = "csv"
		}
	}
	var tables []ledger.Table
	switch t := strings.ToLower(*table); t {
	case "", "all":
		if f == "csv" {
			if t == "all" {
				return &UsageError{Err: errors.New("a CSV file holds one table: pick one with --table"), Hint: hint}
			}
			tables = []ledger.Table{ledger.TableRows}
		}
	default:
		found := false
		for _, known := range ledger.Tables {
			if ledger.Table(t) == known {
				tables, found = []ledger.Table{known}, true
			}
		}
		if !found {
			return &UsageError{Err: fmt.Errorf("unknown table %q", *table), Hint: hint}
		}
	}
	if f != "jsonl" && f != "csv" {
		return &UsageError{Err: fmt.Errorf("unknown format %q", *format), Hint: hint}
	}

	l, err := openLedgerReadOnly(ctx, m.defaultLedger(ledgerPath, false))
	if err != nil {
		return err
	}
	defer l.Close()
	write := func(w io.Writer) error {
		if f == "csv" {
			return l.ExportCSV(ctx, w, tables[0])
		}
		return l.ExportJSONL(ctx, w, tables...)
	}
	if *out == "" || *out == "-" {
		return write(m.Stdout)
	}
	if err := writeFileAtomic(*out, write); err != nil {
		return err
	}
	fmt.Fprintf(m.humanOut(), "exported %s to %s\n", l.Path(), *out)
	return nil
}

// backup copies the ledger to DEST with VACUUM INTO while holding the
// ledger's lock, so it never copies a ledger in the middle of a run.
func (c *LedgerCommand) backup(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("ledger backup", "[--ledger FILE] DEST")
	var ledgerPath string
	ledgerFlag(fs, &ledgerPath)
	hint := "payrun ledger backup --ledger payrun.db backups/payrun-2026-03.db"
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UsageError{Err: errors.New("ledger backup needs exactly one destination file"), Hint: hint}
	}
	dest := fs.Arg(0)
	l, err := openLedgerReadOnly(ctx, m.defaultLedger(ledgerPath, false))
	if err != nil {
		return err
	}
	defer l.Close()
	lk, err := l.Lock(ctx, ledger.LockOwner{Command: "payrun ledger backup " + dest})
	var le *ledger.LockedError
	if errors.As(err, &le) {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("back up refused: a run is active: %w", err)}
	}
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	defer lk.Release()
	if err := l.Backup(ctx, dest); err != nil {
		return err
	}
	fmt.Fprintf(m.humanOut(), "backed up %s to %s\n", l.Path(), dest)
	return nil
}

// openLedgerReadOnly opens an existing ledger; a missing file is a usage
// error rather than an empty ledger.
func openLedgerReadOnly(ctx context.Context, path string) (*ledger.Ledger, error) {
	if err := statLedger(path); err != nil {
		return nil, &UsageError{Err: fmt.Errorf("open ledger %s: %w", path, err), Hint: "payrun ledger export --ledger path/to/payrun.db"}
	}
	l, err := openReadOnly(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	return l, nil
}

// writeFileAtomic writes path through write: into a temporary file beside
// it (mode 0600: the ledger names payees and amounts), fsynced, renamed over
// path, and the directory fsynced, so a crash leaves the old file or the new
// one, never half of one.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp"+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := dirsync.Dir(dir); err != nil {
		return fmt.Errorf("write %s: sync directory: %w", path, err)
	}
	return nil
}
