package sheet

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/currency"
)

// TestCurrencyDecimalsPinned pins the decimals of every currency payrun
// accepts to testdata/currency_decimals.txt, so an upgrade of
// golang.org/x/text (whose CLDR data may move) or an edit of the overrides
// cannot change what a row may carry without this test failing. The file was
// written from the hand-kept ISO 4217 table that x/text replaced.
func TestCurrencyDecimalsPinned(t *testing.T) {
	f, err := os.Open("testdata/currency_decimals.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]Currency{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		d, err := strconv.Atoi(fs[1])
		if err != nil {
			t.Fatalf("read %q: %v", sc.Text(), err)
		}
		want[fs[0]] = Currency{Code: fs[0], Decimals: int32(d), Crypto: len(fs) > 2 && fs[2] == "crypto"}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	accepted := map[string]bool{}
	for _, c := range fiatCodes {
		accepted[c] = true
	}
	for c := range cryptoDecimals {
		accepted[c] = true
	}
	if len(fiatDecimals) != len(fiatCodes) {
		t.Errorf("%d fiat codes but %d have decimals: a code is unknown to x/text and has no override", len(fiatCodes), len(fiatDecimals))
	}
	for code := range accepted {
		got, ok := LookupCurrency(code)
		if w, pinned := want[code]; !pinned {
			t.Errorf("%s is accepted (%+v) but not pinned in testdata/currency_decimals.txt", code, got)
		} else if !ok || got != w {
			t.Errorf("LookupCurrency(%s) = %+v, %v; pinned %+v", code, got, ok, w)
		}
	}
	for code := range want {
		if !accepted[code] {
			t.Errorf("%s is pinned but no longer accepted", code)
		}
	}
}

// TestCurrencyOverridesNeeded keeps the override list short: each entry must
// still differ from what golang.org/x/text gives (or name a code it does not
// know), so an x/text upgrade that agrees with ISO 4217 lets it go.
func TestCurrencyOverridesNeeded(t *testing.T) {
	for code, d := range isoMinorUnits {
		u, err := currency.ParseISO(code)
		if err != nil {
			continue
		}
		if scale, _ := currency.Standard.Rounding(u); int32(scale) == d {
			t.Errorf("override %s=%d is what x/text gives: drop it", code, d)
		}
	}
}

// TestCurrencyCodesRefused: codes x/text knows but ISO 4217 list one no
// longer has (withdrawn, test, metal) stay refused.
func TestCurrencyCodesRefused(t *testing.T) {
	for _, code := range []string{"DEM", "VEF", "MRO", "XTS", "XXX", "XAU"} {
		if c, ok := LookupCurrency(code); ok {
			t.Errorf("LookupCurrency(%s) = %+v; want refused", code, c)
		}
	}
}
