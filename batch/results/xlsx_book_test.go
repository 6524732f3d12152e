package results

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// TestXLSXWriterMatchesStreamWriter writes the same rows of every cell kind
// twice: through payrun's writer (xlsxBook, whose data rows bypass excelize's
// StreamWriter through the row encoder and the zip splicer) and through
// excelize's StreamWriter, the writer it replaced. Both files are opened
// back by excelize, which must read the same values, cell for cell, and the
// same cell types.
func TestXLSXWriterMatchesStreamWriter(t *testing.T) {
	at := time.Date(2026, 6, 30, 17, 4, 5, 250e6, time.UTC)
	rows := [][]Cell{
		{TextCell("plain"), TextCell(" spaced\t"), TextCell(`<a & "b">`), TextCell("=1+1"), TextCell("bell\x07"), TextCell("José ✓")},
		{AmountCell(decimal.NewNullDecimal(decimal.RequireFromString("1234.56")), "USD"), AmountCell(decimal.NewNullDecimal(decimal.RequireFromString("185000")), "JPY"),
			RateCell(decimal.NewNullDecimal(decimal.RequireFromString("149.8512345"))), dateCell(at), intCell(42), {}},
		{linkCell("https://example.com/kyc?a=1&b=2"), {kind: cellLink, text: "https://example.com/x", label: "Upload documents"}, linkCell("not a link"),
			AmountCell(decimal.NewNullDecimal(decimal.RequireFromString("-0.01")), "EUR"), TextCell("last")},
	}
	header := []string{"a", "b", "c", "d", "e", "f"}
	dir := t.TempDir()

	ours := filepath.Join(dir, "ours.xlsx")
	bk := newXLSXBook()
	if err := bk.f.SetSheetName("Sheet1", "Data"); err != nil {
		t.Fatal(err)
	}
	sh, err := bk.sheet("Data")
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.begin(make([]float64, len(header)), header, 0, allInput); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := sh.write(r, FillNone, -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := sh.finish(false); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(ours)
	if err != nil {
		t.Fatal(err)
	}
	if err := bk.writeTo(out); err != nil {
		t.Fatal(err)
	}
	out.Close()
	bk.Close()

	theirs := filepath.Join(dir, "streamwriter.xlsx")
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "Data")
	sw, err := f.NewStreamWriter("Data")
	if err != nil {
		t.Fatal(err)
	}
	hv := make([]any, len(header))
	for i, h := range header {
		hv[i] = h
	}
	if err := sw.SetRow("A1", hv); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		vals := make([]any, len(r))
		for j, c := range r {
			switch c.kind {
			case cellText:
				vals[j] = InertText(c.text)
			case cellLink:
				vals[j] = InertText(c.text)
				if c.label != "" {
					vals[j] = InertText(c.label)
				}
			case cellAmount, cellRate:
				vals[j] = c.num.InexactFloat64()
			case cellDate:
				vals[j] = excelSerial(c.at)
			case cellInt:
				vals[j] = c.n
			}
		}
		ref, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(ref, vals); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(theirs); err != nil {
		t.Fatal(err)
	}
	f.Close()

	a, b := openBook(t, ours), openBook(t, theirs)
	got, want := rawRows(t, a, "Data"), rawRows(t, b, "Data")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("values differ\nours:         %q\nStreamWriter: %q", got, want)
	}
	for r := range len(rows) + 1 {
		for c := range len(header) {
			ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
			ta, _ := a.GetCellType("Data", ref)
			tb, _ := b.GetCellType("Data", ref)
			if ta != tb {
				t.Errorf("%s: cell type %v, StreamWriter's %v", ref, ta, tb)
			}
		}
	}
}
