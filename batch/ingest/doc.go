// Package ingest reads a payout sheet file into sheet.Rows: CSV (UTF-8 or
// Excel's UTF-16, any of three separators, decimal commas) through
// encoding/csv, XLSX through batch/xlsxread, finding the header among title
// rows, turning numeric money and date cells into the text Excel shows, and
// naming every cell it cannot read as a sheet.Problem. ValidateFile reads a
// file and runs batch/validate over it (twice when duplicate detection
// needs its second read); RecordSheet writes the rows into the ledger as
// state new; OpenRawSheet serves the sheets with their own columns
// (autopay rules, wallets).
//
// It may import batch/sheet, batch/xlsxread, batch/validate, ledger and the
// standard library; the runner and everything else in batch sits above it.
package ingest
