package exports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"

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

// TestExportCSVGolden pins the bytes of the fixed-schema CSV exports
// (wallets, tax, history; batch's pins the autopay list's): the BOM,
// header, quoting, formula escaping and decimal text, so a change of CSV
// library shows as a diff.
func TestExportCSVGolden(t *testing.T) {
	dir := t.TempDir()

	var wallets []WalletRow
	for i, s := range nasty {
		wallets = append(wallets, WalletRow{Payee: Payee{InternalUserID: s, UserToken: "usr_" + s},
			Wallet: masspay.Wallet{Token: "wal_" + s, CurrencyCode: []string{"USD", "JPY", "KWD", "BTC", "IDR"}[i%5],
				Balance: gdec([]string{"42.5", "1500", "1.5", "0.00000001", "-12.345"}[i%5]), Type: s,
				Active: i%2 == 0, ClientPayingFees: i%3 == 0}, Note: s})
	}
	wallets = append(wallets, WalletRow{Payee: Payee{InternalUserID: "ghost"}, Note: "not known to MassPay"})
	p := filepath.Join(dir, "wallets.csv")
	if _, err := WriteWallets(p, wallets); err != nil {
		t.Fatal(err)
	}
	exportCSVGolden(t, "wallets.csv", p)
	p = filepath.Join(dir, "wallets-empty.csv")
	if _, err := WriteWallets(p, nil); err != nil {
		t.Fatal(err)
	}
	exportCSVGolden(t, "wallets-empty.csv", p)

	rep := &TaxReport{Year: 2025, Threshold: gdec("600")}
	for i, s := range nasty {
		tid := ""
		if i%2 == 0 {
			tid = "12-345" + s
		}
		rep.Payees = append(rep.Payees, TaxPayee{TaxYearUser: masspay.TaxYearUser{UserToken: "usr_" + s, InternalUserID: s,
			FirstName: s, LastName: s, Email: s + "@x.test", Country: "USA", Address1: s, City: s, StateProvince: s,
			PostalCode: masspay.NumberText("0" + s), Balance: gdec([]string{"600", "599.999", "12345678.9", "0", "-1.5"}[i%5]),
			TaxID: tid}, AtThreshold: i%5 == 0 || i%5 == 2})
	}
	p = filepath.Join(dir, "tax.csv")
	paths, err := WriteTaxReport(p, rep)
	if err != nil || len(paths) != 2 {
		t.Fatal(paths, err)
	}
	exportCSVGolden(t, "tax.csv", paths[0])
	exportCSVGolden(t, "tax.missing-tax-id.csv", paths[1])

	var buf bytes.Buffer
	h := newHistoryCSV(&buf)
	if err := h.header(HistoryColumns); err != nil {
		t.Fatal(err)
	}
	for i, s := range nasty {
		r := masspay.TxnHistory{Token: "tok_" + s, Type: s, TimeOfTxn: "2025-03-0" + string(rune('1'+i%9)) + "T10:00:00", SourceAmount: gdec("100.10"),
			DestinationAmount: gdec([]string{"1712.3456", "0.00000001", "1e3", "-3", "0"}[i%5]), SourceCurrencyCode: "USD",
			DestinationCurrencyCode: s, Fee: gdec("1.25"), Status: s, ClientTransferID: s, PickupCode: s, StatusReason: s, UserToken: s}
		if i%2 == 0 {
			rate := gdec("17.123456789")
			r.ExchangeRate = &rate
		}
		if err := h.row(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.finish(nil); err != nil {
		t.Fatal(err)
	}
	p = filepath.Join(dir, "history.csv")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	exportCSVGolden(t, "history.csv", p)
}

func gdec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// TestHistoryCSVBatches: rows handed to gocsv in batches all arrive, in
// order, across batch boundaries.
func TestHistoryCSVBatches(t *testing.T) {
	var buf bytes.Buffer
	h := newHistoryCSV(&buf)
	if err := h.header(HistoryColumns); err != nil {
		t.Fatal(err)
	}
	n := 2*historyCSVBatch + 3
	for i := range n {
		r := masspay.TxnHistory{Token: fmt.Sprintf("tok_%d", i), SourceAmount: gdec("1.10")}
		if err := h.row(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.finish(nil); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != n+1 {
		t.Fatalf("%d records, %v; want %d", len(recs), err, n+1)
	}
	for i, r := range recs[1:] {
		if r[2] != fmt.Sprintf("tok_%d", i) || r[7] != "1.1" {
			t.Fatalf("record %d = %q", i+1, r)
		}
	}
}
