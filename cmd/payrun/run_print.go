package main

// What a run prints for people: the plan before it pays and the summary
// after.

import (
	"fmt"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

func (m *Main) printPlan(p *results.Plan) { m.printPlanAs(p, "To pay") }

// printPlanAs prints the plan under label: "To pay" for the rows a run is
// about to pay, "In the sheet" when some were settled by earlier runs and
// the figures are the whole sheet's.
func (m *Main) printPlanAs(p *results.Plan, label string) {
	fmt.Fprintf(m.humanOut(), "%s: %s (%s, %s)\n", label, plural.Count(p.Rows, "row"),
		plural.Count(p.ByMethod[sheet.MethodLoad], "load"), plural.Count(p.ByMethod[sheet.MethodPayout], "payout"))
	for _, cur := range p.Currencies() {
		line := fmt.Sprintf("  %s: %s requested + %s estimated fees; balance %s", cur,
			sheet.FormatAmount(p.Requested[cur], cur), sheet.FormatAmount(p.Fees[cur], cur), sheet.FormatAmount(p.Balances[cur], cur))
		if s, ok := p.Shortfall[cur]; ok {
			line += fmt.Sprintf("; SHORT by %s", sheet.FormatAmount(s, cur))
		}
		fmt.Fprintln(m.humanOut(), line)
	}
	for _, q := range p.NoRoute {
		fmt.Fprintf(m.humanOut(), "  row %d (%s): %s\n", q.Line, q.ID, q.Problem)
	}
	for _, q := range p.NeedDetails {
		fmt.Fprintf(m.humanOut(), "  row %d (%s): %s\n", q.Line, q.ID, q.Problem)
	}
}

func (m *Main) printRunSummary(runID int64, st batch.Stats, res results.ResultsSummary, wrote bool) {
	fmt.Fprintf(m.Stdout, "\nRun %d: %s\n", runID, stateCounts(st.Counts))
	for _, t := range res.Totals {
		c := t.Currency
		fmt.Fprintf(m.Stdout, "  %s: paid %s, fees %s, not paid %s (of %s requested over %s)\n", c,
			sheet.FormatAmount(t.Paid, c), sheet.FormatAmount(t.Fees, c), sheet.FormatAmount(t.NotPaid, c), sheet.FormatAmount(t.Requested, c), plural.Count(t.Rows, "row"))
	}
	// Paid above is what this run moved; what other runs settled is named
	// apart, so adding up runs never counts a payment twice.
	if t := res.EarlierText(); t != "" {
		fmt.Fprintf(m.Stdout, "  %s; not paid again\n", t)
	}
	if t := res.LaterText(); t != "" {
		fmt.Fprintf(m.Stdout, "  %s\n", t)
	}
	if res.NothingToPay() {
		fmt.Fprintln(m.Stdout, "  Nothing left to pay: every row of this sheet was settled before this run.")
	}
	if n := st.Counts[ledger.StateNeedsAction] + st.Counts[ledger.StateFailed]; n > 0 {
		fmt.Fprintf(m.Stdout, "  %s %s a person: see the \"Needs action\" sheet.\n", plural.Count(n, "row"), plural.Verb(n, "needs", "need"))
	}
	if wrote {
		fmt.Fprintf(m.Stdout, "Results: %s\n", res.Path)
	}
}
