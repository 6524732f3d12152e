package xlsxread

import (
	"errors"
	"strings"
)

// Errors returned by Open. batch/ingest returns the same values, so
// errors.Is works whichever package a caller knows.
var (
	ErrSheetNotFound = errors.New("worksheet not found")
	ErrEmptySheet    = errors.New("sheet is empty")
	// ErrWorkbookTooLarge means a part of an XLSX (a zip) inflates past
	// what a payout sheet needs: a zip bomb, or a workbook to split.
	ErrWorkbookTooLarge = errors.New("workbook too large when unpacked")
)

// blank reports whether a row has no non-space cell.
func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
