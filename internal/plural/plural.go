// Package plural writes counts as people read them: "1 row", "2 rows",
// "0 currencies". Every count payrun prints to a person (CLI, results
// summary, console, alerts) goes through Count, so none says "1 rows".
package plural

import "strconv"

// Count is n followed by noun, in the plural unless n is 1 or -1. noun is
// the singular; the plural follows English spelling rules (row -> rows,
// currency -> currencies, batch -> batches, day -> days), which holds for
// every noun payrun counts.
func Count(n int, noun string) string {
	return strconv.Itoa(n) + " " + Noun(n, noun)
}

// Noun is noun in the form n asks for, without the number, for texts
// where the count stands elsewhere ("rows 1 to 3", "2 of 5 rows").
func Noun(n int, noun string) string {
	if n == 1 || n == -1 || noun == "" {
		return noun
	}
	return plural(noun)
}

// Verb is one when n is 1 or -1, else many: "1 row needs", "2 rows need".
func Verb(n int, one, many string) string {
	if n == 1 || n == -1 {
		return one
	}
	return many
}

// plural spells the plural of an English noun.
func plural(noun string) string {
	last := noun[len(noun)-1]
	switch {
	case last == 'y' && len(noun) > 1 && !isVowel(noun[len(noun)-2]):
		return noun[:len(noun)-1] + "ies"
	case last == 's' || last == 'x' || last == 'z' || hasSuffix(noun, "ch") || hasSuffix(noun, "sh"):
		return noun + "es"
	}
	return noun + "s"
}

func isVowel(b byte) bool {
	switch b {
	case 'a', 'e', 'i', 'o', 'u':
		return true
	}
	return false
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }
