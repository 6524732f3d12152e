// Package batch turns a payout sheet into payments, exactly once. It owns
// the Runner and its steps (payee, load, payout quote, commit, adoption:
// the only code that moves money, every request recorded before it is
// sent), payee resolution, routes and attributes. The root is the runner
// only: results files are batch/results', plans batch/pricing's, status
// news and reconcile batch/reconcile's, the wallet, tax, history and
// confirmation exports batch/exports', autopay rules batch/autopay's.
//
// It may import batch/sheet, batch/xlsxread, batch/validate, batch/ingest,
// batch/routing, batch/results, batch/reconcile, batch/exports and
// batch/autopay below it (and batch/pricing in its tests), and ledger and
// masspay; batch/alert and batch/torture sit above it. layers_test.go
// holds the order.
package batch
