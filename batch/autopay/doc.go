// Package autopay keeps payees' autopay rules (MassPay paying a share of
// every load to a route) as an autopay rules sheet says: it reads and
// validates the sheet, plans the changes against the rules MassPay holds
// (PlanAutopay, read-only), applies them with every call recorded as an
// EventAutopay intent first (ApplyAutopay), lists and exports the rules,
// and sets up the one rule a loaded payout-sheet row asks for
// (EnsureAutopayRule, which the runner's load step calls).
//
// It moves no money itself. It may import batch/sheet, batch/routing,
// batch/validate, batch/ingest, batch/results and batch/exports below it,
// and ledger and masspay; the runner (batch) and cmd/payrun use it.
// batch/layers_test.go holds the order.
package autopay
