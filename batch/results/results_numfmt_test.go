package results

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/ledger"
)

// TestResultsKeepSheetNumberFormats: a workbook written by excelize with
// an invoice date (a day serial in a date format), a share in a percent
// format and a plain text reference, read through ingest into a real
// ledger and written back as results. Before, the date came back as the
// number 46266 in a General cell. In the results CSV it is the ISO date;
// a CSV sheet's cells echo as given.
func TestResultsKeepSheetNumberFormats(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.xlsx")
	f := excelize.NewFile()
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd")})
	if err != nil {
		t.Fatal(err)
	}
	pctStyle, err := f.NewStyle(&excelize.Style{NumFmt: 10}) // 0.00%, built in
	if err != nil {
		t.Fatal(err)
	}
	header := []any{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "amount", "invoice_date", "share", "po_number"}
	if err := f.SetSheetRow("Sheet1", "A1", &header); err != nil {
		t.Fatal(err)
	}
	row := []any{"NF-1", "u-1", "Ana", "Silva", "ana@example.com", "BRA", 100.5, 46266, 0.125, "000123"}
	if err := f.SetSheetRow("Sheet1", "A2", &row); err != nil {
		t.Fatal(err)
	}
	for ref, st := range map[string]int{"H2": dateStyle, "I2": pctStyle} {
		if err := f.SetCellStyle("Sheet1", ref, ref, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SaveAs(sheet); err != nil {
		t.Fatal(err)
	}

	l, err := ledger.Open(ctx, filepath.Join(dir, "payrun.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: sheet, SheetSHA256: "nf", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RecordSheet(ctx, l, run.ID, sheet, ingest.IngestOptions{Location: time.UTC}, nil); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "june.results.xlsx")
	if _, err := WriteResults(ctx, l, run.ID, out, ResultsOptions{}); err != nil {
		t.Fatal(err)
	}
	book := openBook(t, out)
	rows := rawRows(t, book, SheetResults)
	for name, want := range map[string]struct{ raw, fmt, shown string }{
		"invoice_date": {"46266", "yyyy-mm-dd", "2026-09-01"},
		"share":        {"0.125", "0.00%", "12.50%"},
		"po_number":    {"000123", "@", "000123"},
	} {
		i := colIndex(t, rows[0], name, 0)
		ref := cellRef(i, 2)
		st := cellStyle(t, book, SheetResults, ref)
		got := numFmt(st)
		if st.NumFmt == 49 {
			got = "@"
		}
		if rows[1][i] != want.raw || got != want.fmt {
			t.Errorf("%s = %q in format %q (numFmt %d), want %q in %q", name, rows[1][i], got, st.NumFmt, want.raw, want.fmt)
		}
		if shown, _ := book.GetCellValue(SheetResults, ref); shown != want.shown {
			t.Errorf("%s shows %q, want %q", name, shown, want.shown)
		}
	}

	// The results CSV of the workbook: the date as a date.
	csvOut := filepath.Join(dir, "june.results.csv")
	if _, err := WriteResults(ctx, l, run.ID, csvOut, ResultsOptions{Format: ingest.FormatCSV}); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, csvOut)
	if got := recs[1][colIndex(t, recs[0], "invoice_date", 0)]; got != "2026-09-01" {
		t.Errorf("results CSV invoice_date %q, want 2026-09-01", got)
	}

	// A CSV sheet's cells are text as given, in the XLSX results too.
	csvSheet := filepath.Join(dir, "july.csv")
	if err := os.WriteFile(csvSheet, []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount,invoice_date\n"+
		"NF-2,u-2,Ben,Okoro,ben@example.com,NGA,20.00,31/08/2026\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run2, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: csvSheet, SheetSHA256: "nf2", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RecordSheet(ctx, l, run2.ID, csvSheet, ingest.IngestOptions{Location: time.UTC}, nil); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(dir, "july.results.xlsx")
	if _, err := WriteResults(ctx, l, run2.ID, out2, ResultsOptions{}); err != nil {
		t.Fatal(err)
	}
	book2 := openBook(t, out2)
	rows2 := rawRows(t, book2, SheetResults)
	if got := rows2[1][colIndex(t, rows2[0], "invoice_date", 0)]; got != "31/08/2026" {
		t.Errorf("CSV sheet's invoice_date echoed as %q", got)
	}
}
