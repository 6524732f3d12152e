package sheet

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Severity tells an error, which refuses the sheet, from a warning, which is
// shown and let through.
type Severity int

// Severities.
const (
	SeverityError Severity = iota
	SeverityWarning
)

// String is "warning" or "error", as problems are printed.
func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Problem is one mistake in a sheet, located so a person can find the cell.
type Problem struct {
	Sheet string // the file name, and for XLSX the worksheet: "pay.xlsx [June]"
	// Line is the row number as a spreadsheet shows it; 0 for a problem of
	// the whole sheet (a missing column, a total over the cap).
	Line     int
	Column   string // the header as the sheet wrote it, or the canonical name
	Value    string // the cell as read
	Message  string // plain English, self-contained
	Severity Severity
	// Rule names the check that failed ("required", "duplicate_id", ...), so
	// programs and tests need not parse Message.
	Rule string
}

// String formats the problem the way the CLI prints it:
//
//	monthly.csv row 14, column "amount": "12.3456" has 4 decimals; USD allows 2
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Sheet)
	if p.Line > 0 {
		fmt.Fprintf(&b, " row %d", p.Line)
	}
	if p.Column != "" {
		if p.Line > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " column %q", p.Column)
	}
	b.WriteString(": ")
	if p.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is a list of problems with helpers for the CLI.
type Problems []Problem

// Errors counts the problems that refuse the sheet.
func (ps Problems) Errors() int {
	n := 0
	for _, p := range ps {
		if p.Severity == SeverityError {
			n++
		}
	}
	return n
}

// Warnings counts the problems that are only warnings.
func (ps Problems) Warnings() int { return len(ps) - ps.Errors() }

// HasErrors reports whether any problem refuses the sheet.
func (ps Problems) HasErrors() bool { return ps.Errors() > 0 }

// Sort orders problems by sheet, row, then the order they were found in, so
// a printout reads top to bottom.
func (ps Problems) Sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Sheet, b.Sheet), cmp.Compare(a.Line, b.Line))
	})
}

// RuleTotalRow is the rule of a row that is a sheet's total, not a payment.
// Validate reports nothing else about such a row.
const RuleTotalRow = "total_row"
