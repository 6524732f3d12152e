package batch

// Spreadsheet formula injection (OWASP "CSV Injection"): a payee's name such
// as =HYPERLINK("http://evil","click") runs as a formula when a spreadsheet
// opens the file or when someone re-types the cell. Every text cell the
// results write goes through inertText; numbers are written as numbers and
// never pass through it, so a real negative amount stays a number.

// inertText returns s so that no spreadsheet reads it as a formula: a value
// that starts with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, as OWASP recommends. The apostrophe is visible, on purpose: it
// survives copying the cell into another file, which a hidden marker does not.
func inertText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	// Full-width equals and plus signs: some spreadsheet versions normalise
	// them to their ASCII forms when evaluating.
	if len(s) >= 3 && (s[:3] == "\uff1d" || s[:3] == "\uff0b" || s[:3] == "\uff0d" || s[:3] == "\uff20") {
		return "'" + s
	}
	return s
}
