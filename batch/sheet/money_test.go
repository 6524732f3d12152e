package sheet

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in           string
		decimalComma bool
		want         string
		warn         bool
		err          error
	}{
		{"12.50", false, "12.5", false, nil},
		{"1,234.56", false, "1234.56", false, nil},
		{"1,234,567.8", false, "1234567.8", false, nil},
		{"1 234.56", false, "1234.56", false, nil},
		{"1'234.56", false, "1234.56", false, nil},
		{"1.234,56", true, "1234.56", false, nil},
		{"1234,56", true, "1234.56", false, nil},
		{"1 234,56", true, "1234.56", false, nil},
		{"0,005", true, "0.005", false, nil},
		{".5", false, "0.5", false, nil},
		{"  7 ", false, "7", false, nil},
		{"$12.00", false, "12", true, nil},
		{"US$ 1,000", false, "1000", true, nil},
		{"12,50 €", true, "12.5", true, nil},
		{"USD 99.99", false, "99.99", true, nil},
		{"0.5 BTC", false, "0.5", true, nil},
		{"-5", false, "-5", false, nil},
		{"(5.00)", false, "-5", false, nil},
		{"5-", false, "-5", false, nil},
		{"-$5", false, "-5", true, nil},
		{"12.345", false, "12.345", false, nil},
		{"", false, "0", false, ErrAmountEmpty},
		{"abc", false, "", false, ErrAmountNotNumber},
		{"12abc", false, "", false, ErrAmountNotNumber},
		{"1e5", false, "", false, ErrAmountNotNumber},
		{"12,50", false, "", false, ErrAmountSeparators},
		{"12.50", true, "", false, ErrAmountSeparators},
		{"1,23,456", false, "", false, ErrAmountSeparators},
		{"1.234.56", false, "", false, ErrAmountSeparators},
		{"1,234 567", false, "", false, ErrAmountSeparators},
		{"0,005", false, "", false, ErrAmountSeparators},
		{"$", false, "", false, ErrAmountNotNumber},
		{"1.2.3", true, "", false, ErrAmountSeparators},
	}
	for _, tt := range tests {
		got, warns, err := ParseAmount(tt.in, tt.decimalComma)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("ParseAmount(%q, %v) error = %v, want %v", tt.in, tt.decimalComma, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAmount(%q, %v) error = %v", tt.in, tt.decimalComma, err)
			continue
		}
		if !got.Equal(decimal.RequireFromString(tt.want)) {
			t.Errorf("ParseAmount(%q, %v) = %s, want %s", tt.in, tt.decimalComma, got, tt.want)
		}
		if (len(warns) > 0) != tt.warn {
			t.Errorf("ParseAmount(%q, %v) warnings = %q, want some: %v", tt.in, tt.decimalComma, warns, tt.warn)
		}
	}
}

func TestParseAmountKeepsExponent(t *testing.T) {
	// 0.1 + 0.2 in decimal is exactly 0.3: no float is involved anywhere.
	a, _, _ := ParseAmount("0.1", false)
	b, _, _ := ParseAmount("0.2", false)
	if !a.Add(b).Equal(decimal.RequireFromString("0.3")) {
		t.Fatalf("0.1+0.2 = %s", a.Add(b))
	}
	d, _, _ := ParseAmount("12.345", false)
	if DecimalPlaces(d) != 3 {
		t.Fatalf("decimalPlaces(12.345) = %d", DecimalPlaces(d))
	}
	d, _, _ = ParseAmount("12.500", false)
	if DecimalPlaces(d) != 1 {
		t.Fatalf("decimalPlaces(12.500) = %d", DecimalPlaces(d))
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.50", "1,234.56", "1.234,56", "$12", "(5)", "1 234", "0,005", "US$ 1,000.00", "-", "€", "1e5", "١٢٣"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, comma bool) {
		d, _, err := ParseAmount(s, comma)
		if err != nil {
			return
		}
		// Whatever was accepted must round-trip through its canonical text
		// in both modes when it has no thousands grouping left.
		canon := d.String()
		d2, _, err := ParseAmount(canon, false)
		if err != nil || !d2.Equal(d) {
			t.Fatalf("ParseAmount(%q) = %s, which re-reads as %s, %v", s, canon, d2, err)
		}
	})
}

func TestFormatAmount(t *testing.T) {
	for _, c := range []struct{ amount, cur, want string }{
		{"3500.35", "USD", "3,500.35"},
		{"1000000", "USD", "1,000,000.00"},
		{"999.5", "USD", "999.50"},
		{"-1234.5", "EUR", "-1,234.50"},
		{"1234567", "JPY", "1,234,567"},
		{"0.00012345", "BTC", "0.00012345"},
		{"100000", "", "100,000.00"},
	} {
		if got := FormatAmount(decimal.RequireFromString(c.amount), c.cur); got != c.want {
			t.Errorf("FormatAmount(%s, %s) = %q, want %q", c.amount, c.cur, got, c.want)
		}
	}
}
