package main

import (
	"context"
	"fmt"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/pricing"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// PlanCommand is a dry run: validate the sheet, quote the routes and fees,
// check the balance. It records nothing that moves money.
type PlanCommand struct {
	api   apiFlags
	logs  logFlags
	sheet sheetFlags
	out   string
	// ledgerPath and as: where the plan is recorded for approval, and who
	// prepared it.
	ledgerPath  string
	as          string
	resultsMode fileModeFlag
}

const planUsage = "[flags] SHEET.xlsx|SHEET.csv"

// Run plans the sheet. Exit 0: it can be paid; 1: funds short or routes
// missing; 2: the sheet has mistakes.
func (c *PlanCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("plan", planUsage)
	c.api.register(fs)
	c.logs.register(fs)
	c.sheet.register(fs)
	fs.StringVar(&c.out, "out", "", "plan workbook (default: <sheet>.plan.xlsx next to the sheet)")
	ledgerFlag(fs, &c.ledgerPath) // where the plan is recorded for approval
	fs.StringVar(&c.as, "as", "", "who prepared the plan (default: the OS user)")
	fs.Var(&c.resultsMode, "results-mode", resultsModeUsage)
	if err := m.parseFlags(fs, args, "payrun plan --sandbox samples/monthly-freelancers.xlsx"); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UsageError{Err: errNoSheet, Hint: "payrun plan --sandbox samples/monthly-freelancers.xlsx"}
	}
	sheetPath := fs.Arg(0)
	log, closeLog, err := m.logger(c.logs)
	if err != nil {
		return err
	}
	defer closeLog()

	rep, err := m.checkSheet(ctx, sheetPath, c.sheet, "plan it again")
	if err != nil {
		return err
	}
	if !rep.OK() {
		return &ExitError{Code: ExitUsage, Err: errSilent}
	}
	ingestOpts, _, _ := c.sheet.options(m.Getenv)
	ledgerPath := m.defaultLedger(c.ledgerPath, c.api.sandbox)
	conn, err := m.openAPI(ctx, c.api, log, ledgerPath)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The ledger's payee cache, when there is a ledger, spares lookups;
	// planning never creates one.
	popts := pricing.PlanOptions{CheckDetails: true}
	if ledgerExists(ledgerPath) {
		l, err := ledger.Open(ctx, ledgerPath, ledger.Options{})
		if err != nil {
			return &ExitError{Code: ExitAborted, Err: err}
		}
		defer l.Close()
		popts.Ledger = l
	}
	plan, err := pricing.MakePlanWith(ctx, conn.Client, ingest.SheetRows(sheetPath, ingestOpts), popts)
	if err != nil {
		return apiFailure("plan the sheet", err)
	}
	plan.Warnings = sheet.SummarizeWarnings(rep.Problems)
	// A sheet the ledger already paid, in part or whole, is said so: a
	// run pays only the rest, and the figures above are the whole sheet's,
	// not "to pay".
	var standing reconcile.Standing
	if popts.Ledger != nil {
		if standing, err = reconcile.SheetStanding(ctx, popts.Ledger, ingest.SheetRows(sheetPath, ingestOpts)); err != nil {
			return &ExitError{Code: ExitAborted, Err: err}
		}
	}
	if t := standing.Text(); t != "" {
		m.printPlanAs(plan, "In the sheet")
		fmt.Fprintf(m.Stdout, "Of this sheet, %s; a run pays only the rest (%s).\n", t, plural.Count(standing.Left(), "row"))
	} else {
		m.printPlan(plan)
	}
	out := c.out
	if out == "" {
		out = results.DefaultPlanPath(sheetPath)
	}
	if err := results.WritePlanMode(out, plan, c.resultsMode.mode); err != nil {
		return fmt.Errorf("write plan workbook: %w", err)
	}
	fmt.Fprintf(m.Stdout, "Plan: %s\n", out)
	planID, needsApproval, err := m.recordPlan(ctx, ledgerPath, sheetPath, c.as, conn.Env, plan)
	if err != nil {
		return err
	}
	if !plan.OK() {
		if len(plan.Shortfall) > 0 {
			fmt.Fprintln(m.humanOut(), "The MassPay balance does not cover this sheet.")
		}
		if n := len(plan.NeedDetails); n > 0 {
			fmt.Fprintf(m.humanOut(), "%s %s details their route needs: fill in the attr: columns named above, or the run leaves them NEEDS_ACTION.\n", plural.Count(n, "payout row"), plural.Verb(n, "lacks", "lack"))
		}
		return Attention()
	}
	if standing.NothingLeft() {
		fmt.Fprintln(m.Stdout, "Nothing left to pay: every row of this sheet was settled before.")
		return nil
	}
	// The next step carries the flags given here that payrun run takes
	// too: plan --sandbox must not suggest a run that needs a key.
	next := "payrun run " + shellQuote(sheetPath) + givenFlags(fs, runFlagsFromPlan...)
	if needsApproval {
		// payrun run refuses the sheet until then (require_approval).
		next = fmt.Sprintf("once someone else approves plan %d, %s", planID, next)
	}
	if plan.DetailsUnchecked > 0 {
		// "details ... are" whatever the count; the payees follow it.
		fmt.Fprintf(m.Stdout, "The sheet can be paid, but the payout details of %s are checked at run time (%s not at MassPay yet): %s\n",
			plural.Count(plan.DetailsUnchecked, "row"), plural.Verb(plan.DetailsUnchecked, "its payee is", "their payees are"), next)
		return nil
	}
	fmt.Fprintln(m.Stdout, "The sheet can be paid: "+next)
	return nil
}
