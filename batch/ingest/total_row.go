package ingest

import (
	"strings"

	"github.com/payrun/payrun/batch/sheet"
)

// totalWords are the labels people put on a total row, lower case.
var totalWords = []string{"total", "totals", "grand total", "subtotal", "sub-total", "sub total", "sum", "summe", "gesamt", "total general", "totaal"}

// totalLabel reports whether row, built from cells, is a total line: a cell
// reads "Total" (or the like) and at most one of the payee's identifying
// columns holds anything else. A payee whose first name is Total still has
// an id, an email and a last name.
func totalLabel(row sheet.Row, cells []string) (string, bool) {
	label := ""
	for _, c := range cells {
		t := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(c), ":"))
		// Every row passes here: rule out most cells without allocating.
		if len(t) < 3 || len(t) > 20 || !strings.ContainsRune("tTsSgG", rune(t[0])) {
			continue
		}
		for _, w := range totalWords {
			if strings.EqualFold(t, w) || (w == "total" && len(t) > 6 && strings.EqualFold(t[:6], "total ")) {
				label = strings.TrimSpace(c)
				break
			}
		}
		if label != "" {
			break
		}
	}
	if label == "" {
		return "", false
	}
	filled := 0
	for _, v := range []string{row.ClientTransferID, row.InternalUserID, row.FirstName, row.LastName, row.Email} {
		if v != "" && v != label {
			filled++
		}
	}
	return label, filled <= 1
}

// totalColumn is the header of the cell holding a total row's label.
func totalColumn(cols []sheet.Column, cells []string, label string) string {
	for i, c := range cells {
		if strings.TrimSpace(c) == label && i < len(cols) {
			return cols[i].Header
		}
	}
	return ""
}
