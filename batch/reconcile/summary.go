package reconcile

import (
	"bufio"
	"fmt"
	"io"

	"github.com/payrun/payrun/internal/plural"
)

// WriteReconcileSummary writes rep for a person: counts, status changes, a
// "Flips" section when there are any, rows that could not be checked, and the
// balance comparison per currency.
func WriteReconcileSummary(w io.Writer, rep ReconcileReport) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "Reconciled %s: %s, %s.\n", plural.Count(rep.Checked, "payment"), plural.Count(len(rep.Changes), "status change"), plural.Count(len(rep.Flips), "flip"))
	if len(rep.Changes) > 0 {
		fmt.Fprintln(b, "\nStatus changes")
		for _, c := range rep.Changes {
			fmt.Fprintf(b, "  %-30s %s -> %s  (%s)\n", c.ClientTransferID, orDashStatus(c.Was), c.Now, c.Token)
		}
	}
	if len(rep.Flips) > 0 {
		fmt.Fprintln(b, "\nFlips (MassPay changed a settled payment; act on these today)")
		for _, f := range rep.Flips {
			amt := "-"
			if f.SourceAmount.Valid {
				amt = f.SourceAmount.Decimal.String() + " " + f.SourceCurrency
			}
			fmt.Fprintf(b, "  %-30s %s -> %s  %s  (%s)\n    %s\n", f.ClientTransferID, f.Was, f.Now, amt, f.Token, f.ActionNeeded)
		}
	}
	if len(rep.Problems) > 0 {
		fmt.Fprintln(b, "\nNot checked")
		for _, p := range rep.Problems {
			fmt.Fprintf(b, "  %-30s %s\n", p.ClientTransferID, p.Err)
		}
	}
	if len(rep.Balances) > 0 {
		fmt.Fprintln(b, "\nBalances")
		for _, bc := range rep.Balances {
			fmt.Fprintf(b, "  %s: expected %s (opening %s before run %d, debited %s, refunded %s), MassPay %s",
				bc.Currency, bc.Expected, bc.Opening, bc.OpeningRunID, bc.Debited, bc.Refunded, bc.Actual)
			if bc.Difference.IsZero() {
				fmt.Fprintln(b, ": agrees")
				continue
			}
			fmt.Fprintf(b, ": DIFFERENCE %s\n", bc.Difference)
			if len(bc.Explain) == 0 {
				fmt.Fprintln(b, "    No ledger row explains it: a payment made outside payrun, a MassPay fee or an adjustment; check the account statement.")
			}
			for _, s := range bc.Explain {
				fmt.Fprintf(b, "    %-28s %s %s would change it by %s: %s\n", s.ClientTransferID, s.State, orDashStatus(s.MasspayStatus), s.Effect, s.Why)
			}
		}
	}
	return b.Flush()
}
