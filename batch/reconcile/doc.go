// Package reconcile brings the ledger to MassPay's truth after a run: it
// applies status news from signed webhooks and polls (StatusApplier, one
// row at a time under a per-row lock, never paying and never moving a row
// out of a settled state), asks MassPay for the status of every open
// payment (Reconciler), records flips (a payment settled one way that later
// settled the other) and checks balances, and writes the reconcile summary.
// It also says how much of a sheet the ledger already holds as done
// (SheetStanding), so a sheet paid once reads as "nothing to pay".
//
// It moves no money. It may import batch/sheet and batch/results below it,
// and ledger and masspay; batch/exports, the runner (batch), batch/alert
// and cmd/payrun use it. batch/layers_test.go holds the order.
package reconcile
