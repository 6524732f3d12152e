package sheet

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Errors returned by ParseAmount; each is wrapped with the offending text.
var (
	ErrAmountEmpty      = errors.New("amount is empty")
	ErrAmountNotNumber  = errors.New("amount is not a number")
	ErrAmountSeparators = errors.New("amount has misplaced separators")
	// ErrAmountAmbiguous is a text amount that a decimal comma and a decimal
	// point read as two different numbers ("1,500": 1500 or 1.5), in a file
	// whose decimal mark nobody gave.
	ErrAmountAmbiguous = errors.New("amount reads differently with a decimal comma than with a decimal point")
)

// currencySymbols are the money signs people paste into amount cells, longest
// first so "US$" wins over "$". The code is the currency the symbol names
// without doubt, or "" when it is shared ($ is USD, CAD, MXN, ...).
var currencySymbols = []struct{ sym, code string }{
	{"US$", "USD"}, {"CA$", "CAD"}, {"AU$", "AUD"}, {"MX$", "MXN"}, {"NZ$", "NZD"}, {"HK$", "HKD"},
	{"R$", "BRL"}, {"C$", "CAD"}, {"A$", "AUD"}, {"S$", "SGD"}, {"$", ""}, {"€", "EUR"}, {"£", "GBP"},
	{"¥", ""}, {"₹", "INR"}, {"₱", "PHP"}, {"₦", "NGN"}, {"₿", "BTC"}, {"₩", "KRW"}, {"₺", "TRY"},
	{"₽", "RUB"}, {"Ξ", "ETH"},
}

// AmountParse is everything ParseAmount learns about a cell: the value, the
// currency symbol or code it carried and what it implies.
type AmountParse struct {
	Value    decimal.Decimal
	symbol   string // as written, "" when none
	Currency string // currency the symbol names without doubt, "" otherwise
	Warnings []string
}

// ParseAmount reads a money amount exactly as written, never through a
// float. decimalComma says the file writes decimals with a comma (1.234,56)
// rather than a point (1,234.56); the other mark is then only accepted as a
// thousands separator in correctly placed groups of three. Spaces and
// apostrophes are accepted as thousands separators too. A currency symbol or
// ISO code before or after the number is removed and reported as a warning.
// Negative amounts (-5, 5-, (5)) are returned negative; whether they are
// allowed is the validator's business. Scientific notation is refused.
func ParseAmount(s string, decimalComma bool) (decimal.Decimal, []string, error) {
	p, err := ParseAmountFull(s, decimalComma)
	return p.Value, p.Warnings, err
}

// ParseAmountFull is ParseAmount with the symbol and the currency it names,
// for ingest, which checks them against the row's currency.
func ParseAmountFull(s string, decimalComma bool) (AmountParse, error) {
	var p AmountParse
	t := strings.TrimFunc(s, unicode.IsSpace)
	if t == "" {
		return p, ErrAmountEmpty
	}
	neg := false
	if strings.HasPrefix(t, "(") && strings.HasSuffix(t, ")") {
		neg = true
		t = t[1 : len(t)-1]
	}
	// Peel signs, symbols and codes from both ends, in any order: "-$12",
	// "$-12", "12 USD", "12,50 €", "USD -12".
	for changed := true; changed; {
		changed = false
		t = strings.TrimFunc(t, unicode.IsSpace)
		for _, sign := range []string{"-", "−", "+"} {
			if strings.HasPrefix(t, sign) && !neg {
				neg = sign != "+"
				t, changed = t[len(sign):], true
			}
			if strings.HasSuffix(t, sign) && !neg {
				neg = sign != "+"
				t, changed = t[:len(t)-len(sign)], true
			}
		}
		if p.symbol == "" {
			if sym, code, rest, ok := cutSymbol(t); ok {
				p.symbol, p.Currency, t, changed = sym, code, rest, true
			}
		}
	}
	if t == "" {
		return p, fmt.Errorf("%w: %q", ErrAmountNotNumber, s)
	}
	dec, thou := '.', ','
	if decimalComma {
		dec, thou = ',', '.'
	}
	var intPart, fracPart string
	if i := strings.IndexRune(t, dec); i >= 0 {
		intPart, fracPart = t[:i], t[i+1:]
	} else {
		intPart = t
	}
	for _, r := range fracPart {
		if r < '0' || r > '9' {
			return p, amountError(s, t, decimalComma)
		}
	}
	digits, err := ungroup(intPart, thou)
	if err != nil {
		return p, amountError(s, t, decimalComma)
	}
	if digits == "" && fracPart == "" {
		return p, fmt.Errorf("%w: %q", ErrAmountNotNumber, s)
	}
	if digits == "" {
		digits = "0"
	}
	num := digits
	if fracPart != "" {
		num += "." + fracPart
	}
	v, err := decimal.NewFromString(num)
	if err != nil {
		return p, fmt.Errorf("%w: %q", ErrAmountNotNumber, s)
	}
	if neg {
		v = v.Neg()
	}
	p.Value = v
	if p.symbol != "" {
		p.Warnings = append(p.Warnings, fmt.Sprintf("currency symbol %q removed from %q", p.symbol, s))
	}
	return p, nil
}

// ReadAmount is the one rule for reading a text amount, in sheet ingest and
// wherever a row is rebuilt from its cells. With mark ',' or '.' (the sheet
// or --decimal-mark said which) the text is read that way only. With mark 0
// each value is read the only way it can be read: "12,50" and "1.234,56"
// show a decimal comma, "12.50" and "1,234,567" a point, "1500" neither; a
// value both marks can read, as two different numbers ("1,500", "1.500",
// "1,234"), is refused with both readings rather than guessed, since no
// other row of the file can prove which one its writer meant. shown is the
// mark the value itself shows it uses (0 when none or when mark was given),
// so the caller can refuse a file that mixes the two.
func ReadAmount(s string, mark rune) (p AmountParse, shown rune, err error) {
	if mark == ',' || mark == '.' {
		p, err = ParseAmountFull(s, mark == ',')
		return p, 0, err
	}
	pp, errP := ParseAmountFull(s, false)
	pc, errC := ParseAmountFull(s, true)
	switch {
	case errP == nil && errC == nil && pp.Value.Equal(pc.Value):
		return pp, 0, nil
	case errP == nil && errC == nil:
		return pp, 0, fmt.Errorf("%w: %q reads as %s with a decimal point or %s with a decimal comma; say which with --decimal-mark . or --decimal-mark , (decimal_mark in payrun.toml)",
			ErrAmountAmbiguous, s, pp.Value, pc.Value)
	case errP == nil:
		return pp, '.', nil
	case errC == nil:
		return pc, ',', nil
	case errors.Is(errP, ErrAmountEmpty):
		return pp, 0, errP
	}
	// Neither reads: explain with the mark the text seems to use.
	if decimalMarkOf(s) == ',' {
		return pc, 0, errC
	}
	return pp, 0, errP
}

// cutSymbol removes one currency symbol or ISO code from the start or end of t.
func cutSymbol(t string) (sym, code, rest string, ok bool) {
	for _, cs := range currencySymbols {
		if r, found := strings.CutPrefix(t, cs.sym); found {
			return cs.sym, cs.code, r, true
		}
		if r, found := strings.CutSuffix(t, cs.sym); found {
			return cs.sym, cs.code, r, true
		}
	}
	// An ISO code or crypto symbol: letters at either end.
	i := strings.IndexFunc(t, func(r rune) bool { return !unicode.IsLetter(r) })
	if i > 0 {
		if c, found := LookupCurrency(t[:i]); found {
			return t[:i], c.Code, t[i:], true
		}
	}
	j := strings.LastIndexFunc(t, func(r rune) bool { return !unicode.IsLetter(r) })
	if j >= 0 {
		_, size := utf8.DecodeRuneInString(t[j:])
		j += size - 1
	}
	if j >= 0 && j < len(t)-1 {
		if c, found := LookupCurrency(t[j+1:]); found {
			return t[j+1:], c.Code, t[:j+1], true
		}
	}
	return "", "", t, false
}

// ungroup returns the digits of an integer part written with optional
// thousands separators (thou, a space of any kind, or an apostrophe). Groups
// must be placed as people place them: 1-3 digits first, then exactly 3, and
// one kind of separator only, and no leading zero.
func ungroup(s string, thou rune) (string, error) {
	isSep := func(r rune) bool {
		return r == thou || r == '\'' || r == '’' || unicode.IsSpace(r)
	}
	if strings.IndexFunc(s, isSep) < 0 {
		for _, r := range s {
			if r < '0' || r > '9' {
				return "", ErrAmountNotNumber
			}
		}
		return s, nil
	}
	var sep rune = -1
	var b strings.Builder
	group := 0
	first := true
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			group++
		case isSep(r):
			if unicode.IsSpace(r) {
				r = ' '
			}
			if sep != -1 && sep != r {
				return "", ErrAmountSeparators
			}
			sep = r
			if (first && (group < 1 || group > 3)) || (!first && group != 3) {
				return "", ErrAmountSeparators
			}
			// "0,005" is a decimal, never zero thousand and five.
			if first && b.String()[0] == '0' {
				return "", ErrAmountSeparators
			}
			first, group = false, 0
		default:
			return "", ErrAmountNotNumber
		}
	}
	if group != 3 {
		return "", ErrAmountSeparators
	}
	return b.String(), nil
}

// amountError explains why t (the number part of s) could not be read, with
// the likeliest fix when the wrong decimal mark was used.
func amountError(s, t string, decimalComma bool) error {
	hasLetters := strings.IndexFunc(t, unicode.IsLetter) >= 0
	switch {
	case hasLetters && strings.ContainsAny(t, "eE") && strings.IndexFunc(t, func(r rune) bool {
		return unicode.IsLetter(r) && r != 'e' && r != 'E'
	}) < 0:
		return fmt.Errorf("%w: %q is in scientific notation; write the plain number", ErrAmountNotNumber, s)
	case hasLetters || strings.IndexFunc(t, func(r rune) bool {
		return !(r >= '0' && r <= '9') && r != '.' && r != ',' && r != '\'' && r != '’' && !unicode.IsSpace(r)
	}) >= 0:
		return fmt.Errorf("%w: %q", ErrAmountNotNumber, s)
	case decimalComma && strings.Count(t, ".") == 1 && !strings.Contains(t, ","):
		return fmt.Errorf("%w: %q uses a decimal point but this file writes decimals with a comma", ErrAmountSeparators, s)
	case !decimalComma && strings.Count(t, ",") == 1 && !strings.Contains(t, "."):
		return fmt.Errorf("%w: %q uses a decimal comma but this file writes decimals with a point", ErrAmountSeparators, s)
	}
	return fmt.Errorf("%w: %q", ErrAmountSeparators, s)
}

// decimalMarkOf returns the decimal mark a number must be using, or 0 when
// it could be either (1,234 or 1.234) or none.
func decimalMarkOf(s string) rune {
	lastDot, lastComma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	switch {
	case lastDot >= 0 && lastComma >= 0:
		if lastDot > lastComma {
			return '.'
		}
		return ','
	case lastDot >= 0 && strings.Count(s, ".") == 1 && digitsAfter(s[lastDot+1:]) != 3:
		return '.'
	case lastComma >= 0 && strings.Count(s, ",") == 1 && digitsAfter(s[lastComma+1:]) != 3:
		return ','
	}
	return 0
}

func digitsAfter(s string) int {
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			break
		}
		n++
	}
	return n
}

// DecimalPlaces counts the digits after the point, trailing zeros excluded
// (12.50 has 1: the value, not the typing, is what must fit the currency).
func DecimalPlaces(d decimal.Decimal) int32 {
	s := d.String()
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return int32(len(s) - i - 1)
	}
	return 0
}

// FormatAmount writes an amount as finance reads it and as the results
// workbook shows it (its number format is #,##0.00): the currency's
// decimals (USD 2, JPY 0, BTC 8) and a comma between thousands,
// "1,234,567.50". The CLI and the console both print money through it, so
// one run's totals read the same everywhere. The currency code is not
// added.
func FormatAmount(d decimal.Decimal, cur string) string {
	s := d.StringFixed(DecimalsOf(cur))
	neg := strings.HasPrefix(s, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	var b strings.Builder
	b.Grow(len(s) + len(whole)/3)
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(whole); i++ {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
