// Package batch turns a payout sheet into payments, exactly once. It owns
// the Runner and its steps (payee, load, payout quote, commit, adoption:
// the only code that moves money, every request recorded before it is
// sent), pricing plans and autopay. Their files are written by
// batch/results; status news and reconcile are batch/reconcile's, the
// wallet, tax, history and confirmation exports batch/exports'.
//
// It may import batch/sheet, batch/xlsxread, batch/validate, batch/ingest,
// batch/results, batch/reconcile and batch/exports below it, and ledger
// and masspay; batch/alert and batch/torture sit above it. layers_test.go
// holds the order.
package batch
