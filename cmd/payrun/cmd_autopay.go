package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/payrun/payrun/batch/autopay"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/internal/plural"
)

// AutopayCommand lists payees' autopay rules or makes a rules sheet true in
// MassPay.
type AutopayCommand struct{}

const autopayUsage = "apply [--dry-run] SHEET | list [--user ID]... [--out FILE]"

// Run dispatches to apply or list.
func (c *AutopayCommand) Run(ctx context.Context, m *Main, args []string) error {
	hint := "payrun autopay apply --dry-run samples/autopay-rules.csv"
	if len(args) == 0 {
		return &UsageError{Err: errors.New("autopay needs a subcommand: apply or list"), Hint: hint}
	}
	switch args[0] {
	case "apply":
		return c.apply(ctx, m, args[1:])
	case "list":
		return c.list(ctx, m, args[1:])
	case "-h", "--help", "help":
		return m.groupHelp("autopay", autopayUsage)
	}
	return unknownCommand("autopay", args[0], []string{"apply", "list"})
}

// apply validates the sheet (exit 2 on a mistake, before any call), plans
// against MassPay's current rules, prints the plan and, unless --dry-run,
// applies it, recording every change in the ledger.
func (c *AutopayCommand) apply(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("autopay apply", "[flags] SHEET.xlsx|SHEET.csv")
	var env payeeEnv
	env.register(fs)
	dryRun := fs.Bool("dry-run", false, "print the changes and make none")
	sheetName := fs.String("sheet-name", "", "XLSX worksheet to read (default: the first with data)")
	hint := "payrun autopay apply --dry-run samples/autopay-rules.csv"
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UsageError{Err: errors.New("autopay apply needs one rules sheet"), Hint: hint}
	}
	sheet, err := autopay.ReadAutopaySheet(fs.Arg(0), ingest.IngestOptions{SheetName: *sheetName})
	if err != nil {
		return &UsageError{Err: err, Hint: "payrun autopay apply --dry-run samples/autopay-rules.csv (columns: templates/autopay-rules-template.csv)"}
	}
	// The sheet alone first: a mistake in it calls nothing at all.
	if ps := autopay.ValidateAutopaySheet(sheet); ps.HasErrors() {
		printProblems(m.humanOut(), ps)
		fmt.Fprintf(m.humanOut(), "\n%s in %s; nothing was sent to MassPay.\n", plural.Count(ps.Errors(), "mistake"), sheet.Name)
		return &ExitError{Code: ExitUsage, Err: errSilent}
	}
	s, err := env.open(ctx, m, !*dryRun)
	if err != nil {
		return err
	}
	defer s.close()
	plan, err := autopay.PlanAutopay(ctx, s.conn.Client, s.ledger, sheet)
	if err != nil {
		return exportFailure("plan autopay rules", err)
	}
	if plan.Problems.HasErrors() {
		printProblems(m.humanOut(), plan.Problems)
		fmt.Fprintf(m.humanOut(), "\n%s in %s; nothing was changed in MassPay.\n", plural.Count(plan.Problems.Errors(), "problem"), sheet.Name)
		return &ExitError{Code: ExitUsage, Err: errSilent}
	}
	if err := plan.Write(m.Stdout); err != nil {
		return err
	}
	if *dryRun {
		fmt.Fprintln(m.humanOut(), "Dry run: nothing was changed.")
		return nil
	}
	if plan.Pending() == 0 {
		fmt.Fprintln(m.humanOut(), "Nothing to change: MassPay already has these rules.")
		return nil
	}
	done, err := autopay.ApplyAutopay(ctx, s.conn.Client, s.ledger, plan)
	if err != nil {
		fmt.Fprintf(m.humanOut(), "Stopped after %d added, %d replaced, %d removed. Re-run the same command: it picks up from what MassPay now has.\n",
			done.Added, done.Replaced, done.Removed)
		return exportFailure("apply autopay rules", err)
	}
	fmt.Fprintf(m.humanOut(), "Done: %d added, %d replaced, %d removed (recorded in %s).\n", done.Added, done.Replaced, done.Removed, s.ledger.Path())
	return nil
}

// list exports the current rules of the ledger's payees (or --user).
func (c *AutopayCommand) list(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("autopay list", "[--user ID]... [--out FILE.xlsx|FILE.csv]")
	var env payeeEnv
	env.register(fs)
	out := fs.String("out", "", "write the rules to this XLSX or CSV file (it can be edited and applied back) instead of printing them")
	if err := m.parseFlags(fs, args, "payrun autopay list --out rules.xlsx"); err != nil {
		return err
	}
	s, err := env.open(ctx, m, false)
	if err != nil {
		return err
	}
	defer s.close()
	payees, err := s.payees(ctx, "")
	if err != nil {
		return err
	}
	ls, err := autopay.ListAutopayRules(ctx, s.conn.Client, payees)
	if err != nil {
		return exportFailure("list autopay rules", err)
	}
	if *out != "" {
		paths, err := autopay.WriteAutopayRules(*out, ls)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.humanOut(), "Wrote the autopay rules of %s to %s\n", plural.Count(len(payees), "payee"), strings.Join(paths, ", "))
		return nil
	}
	for _, l := range ls {
		if l.Rule.Token == "" {
			fmt.Fprintf(m.Stdout, "%s: %s\n", l.InternalUserID, l.Note)
			continue
		}
		route := strings.TrimSpace(strings.Join([]string{l.Country, l.DeliveryType, l.PayerName}, " "))
		fmt.Fprintf(m.Stdout, "%s: %s wallet sends %s%% of every load to %s (%s), rule %s\n",
			l.InternalUserID, l.WalletCurrency, l.Rule.Percentage, route, l.Rule.DestinationToken, l.Rule.Token)
	}
	return nil
}
