// Package batch turns a payout sheet into payments, exactly once. It owns
// the Runner and its steps (payee, load, payout quote, commit, adoption:
// the only code that moves money, every request recorded before it is
// sent) and pricing plans. Their files are written by batch/results;
// status news and reconcile are batch/reconcile's, the wallet, tax, history
// and confirmation exports batch/exports', autopay rules batch/autopay's.
//
// It may import batch/sheet, batch/xlsxread, batch/validate, batch/ingest,
// batch/results, batch/reconcile, batch/exports, batch/autopay and
// batch/routing below it, and ledger and masspay; batch/alert and
// batch/torture sit above it. layers_test.go holds the order.
package batch
