// Package results writes what payrun tells people about a sheet: the
// results workbook and CSV (one row per sheet row, its result, what to do
// next, the Summary, Needs action, Conflicts and Flips sheets), the plan
// workbook, the export tables that reuse its typed cells (wallets, tax,
// autopay list), and the atomic, 0600 file writing they all share. It reads
// rows through ResultsSource and moves no money.
//
// The workbooks go through a hand-written XLSX writer (xlsx_book.go,
// xlsx_row_encoder.go, xlsx_splice.go), kept because it is measured:
// BenchmarkWriteResults1M writes 1,000,000 result rows in 8.8-12.0 s with a
// 38 MB peak RSS, where excelize's StreamWriter took 33.3 s and 86 MB in the
// same session (README, Measured). TestXLSXWriterMatchesStreamWriter opens
// both outputs back with excelize and requires the same values and cell
// types.
//
// It may import batch/sheet and batch/ingest below it (and ledger for
// reading rows of a run); batch, batch/alert and batch/torture sit above
// it. Plan and Quote live here so the plan workbook needs nothing from
// batch, which prices plans. layers_test.go in batch holds the order.
package results
