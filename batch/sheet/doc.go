// Package sheet is the payout sheet's model: the Row a sheet line becomes,
// the known columns with their header aliases and how a header matches one,
// amounts read exactly as written (never through a float), the country and
// currency tables, and the Problem list that names a mistake by row and
// column. It does no I/O: reading files is batch/ingest's job, checking rows
// batch/validate's, so every package above can share these types without
// importing each other.
//
// It may import only the standard library and shopspring/decimal; every
// other package under batch imports it, never the other way round.
package sheet
