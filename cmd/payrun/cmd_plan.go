package main

import (
	"context"
	"fmt"

	"github.com/payrun/payrun/batch"
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
	ledgerPath string
	as         string
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
	fs.StringVar(&c.ledgerPath, "ledger", "", "record the plan for approval in this ledger (env PAYRUN_LEDGER; default payrun.db, or payrun-sandbox.db with --sandbox)")
	fs.StringVar(&c.as, "as", "", "who prepared the plan (default: the OS user)")
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

	rep, err := m.checkSheet(sheetPath, c.sheet)
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
	plan, err := batch.MakePlan(ctx, conn.Client, batch.SheetRows(sheetPath, ingestOpts))
	if err != nil {
		return apiFailure("plan the sheet", err)
	}
	m.printPlan(plan)
	out := c.out
	if out == "" {
		out = batch.DefaultPlanPath(sheetPath)
	}
	if err := batch.WritePlan(out, plan); err != nil {
		return fmt.Errorf("write plan workbook: %w", err)
	}
	fmt.Fprintf(m.Stdout, "Plan: %s\n", out)
	if err := m.recordPlan(ctx, ledgerPath, sheetPath, c.as, conn.Env, plan); err != nil {
		return err
	}
	if !plan.OK() {
		if len(plan.Shortfall) > 0 {
			fmt.Fprintln(m.Stderr, "The MassPay balance does not cover this sheet.")
		}
		return Attention()
	}
	fmt.Fprintln(m.Stdout, "The sheet can be paid: payrun run "+sheetPath)
	return nil
}
