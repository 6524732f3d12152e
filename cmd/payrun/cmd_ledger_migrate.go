package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/payrun/payrun/ledger"
)

// LedgerMigrateCommand is `payrun ledger migrate --from FILE.db --to
// postgres://...`: it moves a SQLite ledger into an empty PostgreSQL one
// (see ledger.CopyToPostgres), holding the source's lock so no run writes
// it meanwhile, and prints the row counts and totals it checked.
type LedgerMigrateCommand struct{}

const migrateUsage = "migrate --from FILE.db --to postgres://user@host/db"

const migrateHint = "payrun ledger migrate --from payrun.db --to postgres://payrun@db.example.com/payrun"

// Run copies the ledger.
func (c *LedgerMigrateCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("ledger migrate", "--from FILE.db --to postgres://user@host/db")
	from := fs.String("from", "", "the SQLite ledger `FILE` to copy (it is only read)")
	to := fs.String("to", "", "the PostgreSQL ledger `URL`, new or empty (password from PGPASSFILE or PGPASSWORD, never in the URL)")
	if err := m.parseFlags(fs, args, migrateHint); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: migrateHint}
	}
	if *from == "" || *to == "" {
		return &UsageError{Err: errors.New("ledger migrate needs --from FILE.db and --to postgres://..."), Hint: migrateHint}
	}
	if ledger.IsPostgresURL(*from) {
		return &UsageError{Err: errors.New("ledger migrate: --from is a SQLite ledger file, not a URL"), Hint: migrateHint}
	}
	if !ledger.IsPostgresURL(*to) {
		return &UsageError{Err: fmt.Errorf("ledger migrate: --to must be a postgres:// URL, not %q", *to), Hint: migrateHint}
	}
	if err := statLedger(*from); err != nil {
		return &UsageError{Err: fmt.Errorf("open ledger %s: %w", *from, err), Hint: migrateHint}
	}
	src, err := openReadOnly(ctx, *from)
	if errors.Is(err, ledger.ErrNewerSchema) {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("migrate refused: %w", err)}
	}
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("open ledger %s: %w", *from, err)}
	}
	defer src.Close()
	// The source's lock: a run, inbox or console writing it now would
	// leave the copy behind the file.
	lk, err := lockLedger(ctx, src, src.Path(), "payrun ledger migrate", "migrate once it is done")
	if err != nil {
		return err
	}
	defer lk.Release()
	dst, err := ledger.Open(ctx, *to, ledger.Options{})
	if errors.Is(err, ledger.ErrNewerSchema) {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("migrate refused: %w", err)}
	}
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	defer dst.Close()
	dlk, err := lockLedger(ctx, dst, dst.Path(), "payrun ledger migrate", "migrate once it is done")
	if err != nil {
		return err
	}
	defer dlk.Release()
	rep, err := src.CopyToPostgres(ctx, dst)
	if errors.Is(err, ledger.ErrTargetNotEmpty) {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("migrate refused: %w", err)}
	}
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	out := m.Stdout
	fmt.Fprintf(out, "Copied %s to %s (schema version %d), in one transaction.\n\nRows per table (source = target):\n", src.Path(), dst.Path(), ledger.SchemaVersion)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	var total int64
	for _, t := range rep.Tables {
		fmt.Fprintf(tw, "  %s\t%d\t\n", t.Table, t.Rows)
		total += t.Rows
	}
	fmt.Fprintf(tw, "  all\t%d\t\n", total)
	tw.Flush()
	fmt.Fprintf(out, "\nTotals per run and currency (source = target):\n")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, s := range rep.Totals {
		fmt.Fprintf(tw, "  run %d\t%s\t%s\t%d rows\t\n", s.RunID, s.Currency, s.Total.String(), s.Rows)
	}
	tw.Flush()
	if len(rep.Totals) == 0 {
		fmt.Fprintln(out, "  (no rows)")
	}
	fmt.Fprintf(out, "\nChecked: every table's row count and every run's totals match. Use --ledger %s from now on.\n", dst.Path())
	return nil
}
