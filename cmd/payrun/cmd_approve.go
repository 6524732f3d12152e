package main

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch/alert"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// ApproveCommand approves (or, as payrun reject, rejects) a plan recorded by
// payrun plan: the checker's half of maker-checker. Without a PLAN_ID it
// lists the plans waiting for a decision.
type ApproveCommand struct {
	reject     bool // set by RejectCommand
	ledgerPath string
	as         string
	reason     string
	sandbox    bool
	config     string
}

// RejectCommand rejects a plan; see ApproveCommand.
type RejectCommand struct{}

// Run rejects a plan.
func (RejectCommand) Run(ctx context.Context, m *Main, args []string) error {
	return (&ApproveCommand{reject: true}).Run(ctx, m, args)
}

// Run approves or rejects the plan named by the only argument, or lists
// pending plans.
func (c *ApproveCommand) Run(ctx context.Context, m *Main, args []string) error {
	name, verb := "approve", "approved"
	if c.reject {
		name, verb = "reject", "rejected"
	}
	hint := "payrun " + name + " --ledger payrun.db 7"
	fs := m.newFlagSet(name, "[flags] [PLAN_ID]")
	ledgerFlag(fs, &c.ledgerPath)
	sandboxLedgerFlag(fs, &c.sandbox)
	fs.StringVar(&c.as, "as", "", "who decides (default: the OS user); recorded with the OS user and host")
	fs.StringVar(&c.reason, "reason", "", "why (recorded with the decision; required to reject)")
	configFlag(fs, &c.config)
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if _, err := m.useConfig(c.config); err != nil {
		return err
	}
	path := m.defaultLedger(c.ledgerPath, c.sandbox)
	if err := statLedger(path); err != nil {
		return &UsageError{Err: fmt.Errorf("open ledger %s: %w", path, err), Hint: hint}
	}
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	defer l.Close()
	if fs.NArg() == 0 {
		return m.listPendingPlans(ctx, l, path)
	}
	if fs.NArg() != 1 {
		return &UsageError{Err: errors.New("give one plan id"), Hint: hint}
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(fs.Arg(0), "#"), 10, 64)
	if err != nil || id <= 0 {
		return &UsageError{Err: fmt.Errorf("plan id %q is not a number", fs.Arg(0)), Hint: hint}
	}
	who := person(c.as)
	var p ledger.Plan
	if c.reject {
		if strings.TrimSpace(c.reason) == "" {
			return &UsageError{Err: errors.New("say why with --reason"), Hint: `payrun reject --reason "wrong month" 7`}
		}
		p, err = l.RejectPlan(ctx, id, who, c.reason)
	} else {
		allowSelf, berr := m.envBool("PAYRUN_ALLOW_SELF_APPROVAL")
		if berr != nil {
			return berr
		}
		if err := checkApproverAccount(ctx, l, id, who, allowSelf); err != nil {
			return err
		}
		p, err = l.ApprovePlan(ctx, id, who, allowSelf)
	}
	switch {
	case errors.Is(err, ledger.ErrSelfApproval):
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("%s may not approve plan %d: they prepared it; someone else must approve it (or set allow_self_approval = true in payrun.toml for a team of one)", who, id)}
	case errors.Is(err, ledger.ErrNotFound):
		return &UsageError{Err: fmt.Errorf("no plan %d in %s", id, path), Hint: "payrun approve --ledger " + path + " (lists pending plans)"}
	case errors.Is(err, ledger.ErrPlanDecided):
		return &ExitError{Code: ExitUsage, Err: err}
	case err != nil:
		return &ExitError{Code: ExitAborted, Err: err}
	}
	// The CLI cannot prove who typed --as: the OS account is recorded
	// beside the name.
	recordDecider(ctx, l, id, verb, who)
	fmt.Fprintf(m.Stdout, "Plan %d %s by %s (OS account %s): %s (sha256 %s…, %s, %s; prepared by %s)\n", p.ID, verb, who, osAccount(),
		p.SheetName, p.SheetSHA256[:12], plural.Count(p.Rows, "row"), ledger.FormatTotals(p.Totals), p.PreparedBy)
	if !c.reject {
		// The next step pays it where it was planned: this ledger, and the
		// sandbox when the plan was made against it.
		next := "payrun run " + shellQuote(p.SheetName) + " --ledger " + shellQuote(path)
		if p.Environment == EnvSandbox {
			next += " --sandbox"
		}
		fmt.Fprintf(m.Stdout, "%s may now be paid, as long as its bytes stay the same: %s\n", p.SheetName, next)
	}
	return nil
}

func (m *Main) listPendingPlans(ctx context.Context, l *ledger.Ledger, path string) error {
	ps, err := l.Plans(ctx, ledger.PlanFilter{Status: ledger.PlanPending})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	if len(ps) == 0 {
		fmt.Fprintf(m.Stdout, "No plans wait for approval in %s.\n", path)
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN\tSHEET\tROWS\tTOTALS\tPREPARED BY\tPREPARED AT")
	for _, p := range ps {
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", p.ID, p.SheetName, p.Rows, ledger.FormatTotals(p.Totals), p.PreparedBy, p.PreparedAt.Local().Format("2006-01-02 15:04"))
	}
	tw.Flush()
	fmt.Fprintf(m.Stdout, "Approve one with: payrun approve --ledger %s PLAN\n", path)
	return nil
}

// person is who takes a maker-checker step: --as, else the OS user name.
func person(as string) string {
	if s := strings.TrimSpace(as); s != "" {
		return s
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

// errNotApproved marks a run refused under require_approval.
var errNotApproved = errors.New("sheet not approved")

// checkApproval enforces require_approval before a run begins: the sheet's
// exact bytes (sum) must match a plan someone approved, in the same MassPay
// environment. A refusal is recorded as an event and returned as exit 2
// (ExitUsage): the sheet as given is not acceptable input and a person must
// act (approve the plan, or plan the edited sheet again). It is not exit 3,
// which means "nothing wrong with the input, try again later" (lock, signal),
// because retrying alone never makes an unapproved sheet payable.
func (m *Main) checkApproval(ctx context.Context, l *ledger.Ledger, sheetPath, sum, env string) (ledger.Plan, error) {
	p, err := l.ApprovedPlanFor(ctx, sum)
	if err == nil && (p.Environment == "" || p.Environment == env) {
		return p, nil
	}
	if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		return p, &ExitError{Code: ExitAborted, Err: err}
	}
	why := approvalRefusal(ctx, l, sheetPath, sum, env, p, err)
	_, _ = l.AppendEvent(context.WithoutCancel(ctx), ledger.Event{Kind: ledger.EventRun,
		Message: fmt.Sprintf("run of %s (sha256 %s) refused: %s", sheetPath, sum, why)})
	return p, &ExitError{Code: ExitUsage, Err: fmt.Errorf("%w: %s is not approved for payment: %s", errNotApproved, sheetPath, why)}
}

// approvalRefusal says why no approved plan covers the sheet, and what to do.
func approvalRefusal(ctx context.Context, l *ledger.Ledger, sheetPath, sum, env string, approved ledger.Plan, findErr error) string {
	planCmd := "payrun plan --ledger " + l.Path() + " " + sheetPath
	if findErr == nil {
		return fmt.Sprintf("plan %d was approved for %s, not %s; plan it for %s: %s", approved.ID, approved.Environment, env, env, planCmd)
	}
	same, _ := l.Plans(ctx, ledger.PlanFilter{SheetSHA256: sum, Limit: 1})
	if len(same) > 0 {
		p := same[0]
		if p.Status == ledger.PlanRejected {
			return fmt.Sprintf("plan %d of this sheet was rejected by %s (%s); fix the sheet and plan it again: %s", p.ID, p.DecidedBy, p.Reason, planCmd)
		}
		return fmt.Sprintf("plan %d of this sheet, prepared by %s, waits for approval: someone else runs payrun approve --ledger %s %d", p.ID, p.PreparedBy, l.Path(), p.ID)
	}
	if older, _ := l.Plans(ctx, ledger.PlanFilter{SheetName: filepath.Base(sheetPath), Limit: 1}); len(older) > 0 {
		return fmt.Sprintf("the sheet changed since plan %d (%s, sha256 %s…) was made: its sha256 is now %s…; plan the new version: %s",
			older[0].ID, older[0].Status, older[0].SheetSHA256[:12], sum[:12], planCmd)
	}
	return "no plan of this sheet was recorded; plan it, then have someone else approve it: " + planCmd
}

// planTotals is a plan's requested totals, "208,143.34 USD, 31,633.14 EUR".
func planTotals(plan *results.Plan) string {
	var totals []string
	for _, cur := range plan.Currencies() {
		totals = append(totals, sheet.FormatAmount(plan.Requested[cur], cur)+" "+cur)
	}
	return strings.Join(totals, ", ")
}

// recordPlan records a checked sheet's plan in the ledger for approval
// (maker-checker) and prints its id. It needs no ledger lock: recording a
// plan pays nothing and may happen while a run works the same ledger. It
// returns the plan's id, and whether payrun run waits for its approval
// (require_approval): only then is the preparer told to find an approver,
// as a new user otherwise takes the hint for a step they must take.
func (m *Main) recordPlan(ctx context.Context, ledgerPath, sheetPath, as, env string, plan *results.Plan) (int64, bool, error) {
	required, err := m.envBool("PAYRUN_REQUIRE_APPROVAL")
	if err != nil {
		return 0, false, err
	}
	sum, err := ingest.FileSHA256(sheetPath)
	if err != nil {
		return 0, false, err
	}
	if err := makeLedgerDir(ledgerPath); err != nil {
		return 0, false, &ExitError{Code: ExitAborted, Err: fmt.Errorf("create ledger directory: %w", err)}
	}
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{})
	if err != nil {
		return 0, false, &ExitError{Code: ExitAborted, Err: err}
	}
	defer l.Close()
	p, err := l.RecordPlan(ctx, ledger.PlanInfo{SheetName: filepath.Base(sheetPath), SheetSHA256: sum, Rows: plan.Rows,
		Totals: plan.Requested, Environment: env, PreparedBy: person(as), Note: osAccountNote + osAccount()})
	if err != nil {
		return 0, false, &ExitError{Code: ExitAborted, Err: err}
	}
	if !required {
		fmt.Fprintf(m.Stdout, "Recorded as plan %d (prepared by %s); payrun run needs no approval (require_approval is off).\n", p.ID, p.PreparedBy)
		return p.ID, false, nil
	}
	fmt.Fprintf(m.Stdout, "Recorded as plan %d (prepared by %s). To approve it, someone else runs: payrun approve --ledger %s %d\n",
		p.ID, p.PreparedBy, ledgerPath, p.ID)
	// Under require_approval a plan is a sheet waiting for an approver:
	// tell them, once per plan.
	if n := m.notifier(l, zerolog.Nop(), ""); n != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertBudget)
		defer cancel()
		m.alertSays(n.ApprovalWaiting(ctx, alert.ApprovalInfo{PlanID: p.ID, Sheet: filepath.Base(sheetPath), PreparedBy: p.PreparedBy,
			Rows: plan.Rows, Totals: planTotals(plan), Command: fmt.Sprintf("payrun approve --ledger %s %d", ledgerPath, p.ID)}), "")
	}
	return p.ID, true, nil
}
