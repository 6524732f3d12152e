// Package batch turns a payout sheet into payments, exactly once. It owns
// the Runner and its steps (payee, load, payout quote, commit, adoption:
// the only code that moves money, every request recorded before it is
// sent), plans, the results workbook and CSV with the fast XLSX writer
// (xlsx_book.go, xlsx_row_encoder.go, xlsx_splice.go), status news from
// webhooks and reconcile, autopay, and the wallet, tax, history and
// confirmation exports.
//
// It may import batch/sheet, batch/xlsxread, batch/validate and
// batch/ingest below it, and ledger and masspay; batch/alert and
// batch/torture sit above it. layers_test.go holds the order.
package batch
