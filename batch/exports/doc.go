// Package exports writes what finance and accountants ask of MassPay
// outside a run: each payee's wallets, the year's tax balances (with the
// payees missing a tax id), the transaction history for the books, and
// the PDF confirmations of a run's completed payouts. It also resolves
// payees (Payee, ResolvePayees, KnownPayees, SheetPayees), which autopay
// shares. Tables go through batch/results' cells and atomic 0600 files.
//
// It only reads from MassPay and moves no money. It may import
// batch/sheet, batch/ingest, batch/results and batch/reconcile below it,
// and ledger and masspay; batch/autopay, the runner (batch) and
// cmd/payrun use it. batch/layers_test.go holds the order.
package exports
