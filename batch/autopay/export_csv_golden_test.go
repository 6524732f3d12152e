package autopay

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/masspay"
)

// exportCSVGolden compares the file at got with testdata/exports/name,
// byte for byte; PAYRUN_UPDATE_GOLDEN=1 rewrites the golden.
func exportCSVGolden(t *testing.T, name, got string) {
	t.Helper()
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "exports", name)
	if os.Getenv("PAYRUN_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from %s (PAYRUN_UPDATE_GOLDEN=1 go test -run TestExportCSVGolden):\ngot:\n%q\nwant:\n%q", got, golden, b, want)
	}
}

// nasty are payee texts that test quoting and formula escaping: each
// spreadsheet-formula start, quotes, separators, line breaks and non-ASCII.
var nasty = []string{`=HYPERLINK("http://evil","click")`, "+1 555", "-5", "@SUM(A1)", "  =1+1", "\tx",
	`say "hi", then`, "two\nlines", "José Ñúñez", "\uff1d1"}

// TestExportCSVGolden pins the bytes of the autopay list's CSV export
// (batch/exports pins wallets, tax and history): the BOM, header, quoting,
// formula escaping and decimal text, so a change of CSV library shows as a
// diff.
func TestExportCSVGolden(t *testing.T) {
	dir := t.TempDir()

	var listings []AutopayListing
	for i, s := range nasty {
		listings = append(listings, AutopayListing{Payee: exports.Payee{InternalUserID: s, UserToken: "usr_" + s},
			WalletToken: "wal_" + s, WalletCurrency: "USD", Rule: masspay.AutopayRule{Token: "rule_" + s,
				DestinationToken: "dst_" + s, Percentage: dec([]string{"25", "33.333", "100", "0.5", "1e1"}[i%5]), AttrSetToken: s},
			Country: s, DeliveryType: s, PayerName: s, Note: " " + s + " "})
	}
	listings = append(listings, AutopayListing{Payee: exports.Payee{InternalUserID: "none", UserToken: "usr_none"}, Note: "no autopay rules"})
	p := filepath.Join(dir, "autopay.csv")
	if _, err := WriteAutopayRules(p, listings); err != nil {
		t.Fatal(err)
	}
	exportCSVGolden(t, "autopay.csv", p)
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// TestAutopayListColumns: the autopay export's first columns are the rules
// sheet's own names, so an exported file can be edited and applied back.
func TestAutopayListColumns(t *testing.T) {
	want := []string{sheet.ColInternalUserID, ColWalletCurrency, ColPercentage, sheet.ColDestinationToken,
		sheet.ColCountry, sheet.ColDeliveryType, sheet.ColPayerName, ColAction}
	if !slices.Equal(AutopayListColumns[:len(want)], want) {
		t.Errorf("AutopayListColumns = %v; want it to start with %v", AutopayListColumns, want)
	}
}
