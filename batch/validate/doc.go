// Package validate checks payout rows before any money moves: every row's
// columns against the rules (required cells, amounts and currency decimals,
// countries, methods, cell sizes, dates), and the sheet as a whole
// (duplicate client_transfer_ids and possible double entries, totals over
// a cap, an empty sheet). Each mistake is a sheet.Problem naming the row
// and column. Duplicate detection keeps exact keys up to a bound, then
// moves to Bloom filters whose candidates a second read confirms
// (BoundDuplicates, ResolveDuplicates), so a million-row sheet validates
// in flat memory.
//
// It reads no files: batch's ValidateFile opens the sheet and feeds the
// rows in. It may import batch/sheet and the standard library (and
// shopspring/decimal); nothing under batch that it imports may import it.
package validate
