package ingest

// formattedCells is a sheet source that knows the number format of the
// numeric cells of the row it last returned.
type formattedCells interface {
	numFmt(col int) string
}
