package results

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/xuri/excelize/v2"
)

// TestResultsLayoutForPeople writes the fixture run's results and reads
// them back through excelize: what a person needs to tie a row back to a
// payee (id, name, amount, result, next step, KYC link) comes first, the
// sheet's own columns after; the id column and the header stay in sight
// and are printed on every page; the Needs action sheet prints at a
// readable size with its links wrapped in full. Before, result was the
// twelfth column of the fixture (thirty-odd in a real sheet) and the
// printed pages past the first band had no id.
func TestResultsLayoutForPeople(t *testing.T) {
	ctx := context.Background()
	l, runID, sheet := buildFixtureLedger(t)
	out := DefaultResultsPath(sheet, ingest.FormatXLSX)
	if _, err := WriteResults(ctx, l, runID, out, ResultsOptions{}); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, out)
	rows := rawRows(t, f, SheetResults)
	header := rows[0]
	if got, want := strings.Join(header[:len(FrontColumns)], "|"), "client_transfer_id|payee|amount|currency|result|action_needed|kyc_upload_link|error"; got != want {
		t.Fatalf("Results starts with\n %s\nwant\n %s", got, want)
	}
	// The sheet's own columns follow, its id and amount not repeated.
	echo := header[len(FrontColumns) : len(header)-len(DetailColumns)]
	if got, want := strings.Join(echo, "|"), "internal_user_id|first_name|last_name|email|country|method|source_currency|sheet:destination_currency|cost_center"; got != want {
		t.Fatalf("echoed columns\n %s\nwant\n %s", got, want)
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[0]] = r
	}
	if r := byID["mar-001"]; r[1] != "María López" || r[2] != "100" || r[3] != "USD" || r[4] != "PAID" {
		t.Errorf("mar-001 front %q", r[:5])
	}
	if r := byID["mar-004"]; r[4] != "NEEDS_ACTION" || !strings.HasPrefix(r[6], "https://") {
		t.Errorf("mar-004 front %q: no KYC link beside the result", r[:7])
	}
	if r := byID["mar-007"]; r[2] != "abc" || r[4] != "INVALID" {
		t.Errorf("invalid row shows amount %q, result %q", r[2], r[4])
	}
	if st := cellStyle(t, f, SheetResults, "C2"); numFmt(st) != `#,##0.00 "USD"` {
		t.Errorf("front amount format %q", numFmt(st))
	}

	// The id column and the header are frozen.
	for _, s := range []struct {
		sheet string
		cols  int
	}{{SheetResults, 1}, {SheetNeedsAction, 1}} {
		p, err := f.GetPanes(s.sheet)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Freeze || p.XSplit != s.cols || p.YSplit != 1 {
			t.Errorf("%s panes %+v, want %d columns and the header frozen", s.sheet, p, s.cols)
		}
	}

	// Printing: landscape; fitted to one page wide only when that prints
	// at 70% or more, otherwise the id and result repeated on every page.
	for _, s := range []struct {
		sheet, titleCols string
	}{{SheetResults, "$A:$E"}, {SheetNeedsAction, "$A:$A"}} {
		pl, err := f.GetPageLayout(s.sheet)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Orientation == nil || *pl.Orientation != "landscape" {
			t.Errorf("%s prints %v", s.sheet, pl.Orientation)
		}
		width := sheetWidth(t, f, s.sheet)
		props, err := f.GetSheetProps(s.sheet)
		if err != nil {
			t.Fatal(err)
		}
		titles := printTitles(f, s.sheet)
		fitted := props.FitToPage != nil && *props.FitToPage
		switch {
		case fitted && width > readableFitWidth:
			t.Errorf("%s is %.0f wide and fitted to a page: printed below 70%%", s.sheet, width)
		case !fitted && (pl.AdjustTo == nil || *pl.AdjustTo < 70):
			t.Errorf("%s prints at %v%%", s.sheet, pl.AdjustTo)
		case !fitted && !strings.Contains(titles, s.titleCols):
			t.Errorf("%s is %.0f wide and its print titles %q do not repeat %s", s.sheet, width, titles, s.titleCols)
		}
		if !strings.Contains(titles, "$1:$1") {
			t.Errorf("%s print titles %q do not repeat the header", s.sheet, titles)
		}
	}

	// The Needs action link wraps in a column wide enough to read.
	needs := rawRows(t, f, SheetNeedsAction)
	link := colIndex(t, needs[0], "kyc_upload_link", 0)
	for i, r := range needs[1:] {
		if link < len(r) && strings.HasPrefix(r[link], "https://") {
			st := cellStyle(t, f, SheetNeedsAction, cellRef(link, i+2))
			if st.Alignment == nil || !st.Alignment.WrapText {
				t.Errorf("link %s does not wrap: cut off when printed", r[link])
			}
			// The row is as high as its wrapped lines: not every spreadsheet
			// sizes it on opening, and LibreOffice prints it over the next.
			if h, _ := f.GetRowHeight(SheetNeedsAction, i+2); h < 30 {
				t.Errorf("row %d with a wrapped link is %.0f points high", i+2, h)
			}
		}
	}
	if got := strings.Join(needs[0][:6], "|"); got != "client_transfer_id|payee|amount|result|action_needed|kyc_upload_link" {
		t.Errorf("Needs action starts with %s", got)
	}
	if w, _ := f.GetColWidth(SheetNeedsAction, "F"); w < 30 {
		t.Errorf("link column %.0f wide", w)
	}

	// The CSV has the same columns in the same order.
	csvOut := filepath.Join(t.TempDir(), "march.results.csv")
	if _, err := WriteResults(ctx, l, runID, csvOut, ResultsOptions{Format: ingest.FormatCSV}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(csvOut)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(b), utf8BOM))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], "|") != strings.Join(header, "|") {
		t.Errorf("CSV header\n %q\nXLSX\n %q", recs[0], header)
	}
}

// sheetWidth adds up the widths of a sheet's columns.
func sheetWidth(t *testing.T, f *excelize.File, sheet string) float64 {
	t.Helper()
	cols, err := f.GetCols(sheet)
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for i := range cols {
		name, _ := excelize.ColumnNumberToName(i + 1)
		w, err := f.GetColWidth(sheet, name)
		if err != nil {
			t.Fatal(err)
		}
		total += w
	}
	return total
}

// printTitles is the _xlnm.Print_Titles of sheet, "" when it has none.
func printTitles(f *excelize.File, sheet string) string {
	for _, d := range f.GetDefinedName() {
		if d.Name == "_xlnm.Print_Titles" && d.Scope == sheet {
			return d.RefersTo
		}
	}
	return ""
}
