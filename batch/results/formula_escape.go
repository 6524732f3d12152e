package results

import "strings"

// Spreadsheet formula injection (OWASP "CSV Injection"): a payee's name such
// as =HYPERLINK("http://evil","click") runs as a formula when a spreadsheet
// opens the file or when someone re-types the cell. Every text cell the
// results write goes through InertText; numbers are written as numbers and
// never pass through it, so a real negative amount stays a number.

// InertString is export text that gocsv writes through InertText, for
// records whose other fields are not Cells (the history export's).
type InertString string

// MarshalCSV renders s with InertText's apostrophe where needed.
func (s InertString) MarshalCSV() (string, error) { return InertText(string(s)), nil }

// InertText returns s so that no spreadsheet reads it as a formula: a value
// that starts with =, +, -, @, a tab, a carriage return or a line feed gets
// a leading apostrophe, as OWASP recommends, and so does one where spaces
// come before the =, +, - or @ (spreadsheets trim them, then evaluate). The
// apostrophe is visible, on purpose: it survives copying the cell into
// another file, which a hidden marker does not.
func InertText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return "'" + s
	}
	t := s
	if s[0] == ' ' || s[0] >= 0x80 {
		// Plain, no-break and ideographic spaces, the ones a sheet keeps.
		t = strings.TrimLeft(s, " \u00a0\u3000")
		if t == "" {
			return s
		}
		switch t[0] {
		case '=', '+', '-', '@':
			return "'" + s
		}
	}
	// Full-width equals and plus signs: some spreadsheet versions normalise
	// them to their ASCII forms when evaluating.
	if len(t) >= 3 && (t[:3] == "\uff1d" || t[:3] == "\uff0b" || t[:3] == "\uff0d" || t[:3] == "\uff20") {
		return "'" + s
	}
	return s
}
