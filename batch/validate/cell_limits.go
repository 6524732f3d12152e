package validate

import (
	"fmt"
	"unicode/utf8"

	"github.com/payrun/payrun/batch/sheet"
)

// Cell size limits, in characters, by column. MassPay's own limits where it
// has them (ids 50), a generous bound elsewhere: a 10 MB first_name once
// passed validation and failed at MassPay with 431 (headers too large).
const (
	maxIDChars    = 50
	maxNameChars  = 100
	maxEmailChars = 254 // RFC 5321's path limit
	maxNotesChars = 1000
	maxFieldChars = 255 // every other column payrun sends to MassPay
)

// minCellLimit is the smallest limit: a cell of no more bytes than this
// is within every limit, so most cells cost one length comparison.
const minCellLimit = maxIDChars

// cellLimit is the most characters a cell of column key may hold; an
// unknown column ("") is only echoed, and may hold what Excel allows.
func cellLimit(key string) int {
	switch key {
	case "":
		return sheet.MaxCellChars
	case sheet.ColClientTransferID, sheet.ColInternalUserID:
		return maxIDChars
	case sheet.ColFirstName, sheet.ColLastName, sheet.ColMiddleName:
		return maxNameChars
	case sheet.ColEmail:
		return maxEmailChars
	case sheet.ColNotes:
		return maxNotesChars
	}
	return maxFieldChars
}

// checkCellSizes appends a too_long problem for each cell of r over its
// column's limit, naming the column. client_transfer_id has its own
// message (id_too_long).
func (v *Validator) checkCellSizes(ps []sheet.Problem, r sheet.Row, sheetName string) []sheet.Problem {
	for i, f := range r.Input {
		if len(f.Value) <= minCellLimit {
			continue
		}
		key := ""
		if i < len(v.keys) {
			key = v.keys[i]
		} else if f.Header != "" {
			key, _ = sheet.MatchHeader(f.Header)
		}
		limit := cellLimit(key)
		if key == sheet.ColClientTransferID || len(f.Value) <= limit {
			continue
		}
		if n := utf8.RuneCountInString(f.Value); n > limit {
			col := f.Header
			if col == "" {
				col = sheet.ColumnLetter(i)
			}
			ps = append(ps, sheet.Problem{Sheet: sheetName, Line: r.Line, Column: col, Value: ClipValue(f.Value), Rule: "too_long", Severity: sheet.SeverityError,
				Message: fmt.Sprintf("the cell is %d characters; %s allows at most %d", n, col, limit)})
		}
	}
	return ps
}

// controlChar returns the 1-based character position and the rune of the
// first control character (C0, DEL or C1) in s, or 0.
func controlChar(s string) (int, rune) {
	at := 0
	for _, c := range s {
		at++
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) {
			return at, c
		}
	}
	return 0, 0
}

// ClipValue shortens a cell quoted in a problem: a 10 MB cell must not
// become a 10 MB message.
func ClipValue(s string) string {
	const keep = 60
	if len(s) <= keep {
		return s
	}
	n := 0
	for i := range s {
		if n == keep {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
