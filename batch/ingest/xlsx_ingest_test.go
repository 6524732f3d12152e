package ingest

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/payrun/payrun/batch/xlsxread"
	"github.com/xuri/excelize/v2"
)

// TestXLSXScanWorkbooks compares the readers on the committed sample and on
// the workbooks the ingest and validation tests write.
func TestXLSXScanWorkbooks(t *testing.T) {
	sameAsExcelize(t, "../../samples/monthly-freelancers.xlsx", "")
	for _, c := range ruleCases {
		sameAsExcelize(t, writeRuleSheet(t, c, FormatXLSX), "")
	}
}

// TestXLSXSheetSelection: hidden sheets are passed over, empty ones too,
// names match without regard to case, and the 1904 date system is seen.
func TestXLSXSheetSelection(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	for _, name := range []string{"Hidden", "Empty", "Data"} {
		if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
	}
	f.SetCellStr("Sheet1", "A1", " ")
	f.SetCellStr("Hidden", "A1", "secret")
	f.SetSheetVisible("Hidden", false)
	for i, h := range []string{"client_transfer_id", "email", "amount", "date_of_birth"} {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		f.SetCellStr("Data", cell, h)
	}
	f.SetCellStr("Data", "A2", "T1")
	f.SetCellStr("Data", "B2", "a@b.co")
	f.SetCellValue("Data", "C2", 12.5)
	f.SetCellValue("Data", "D2", 0) // day 0 of 1904 is 1904-01-01
	yes := true
	if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "multi.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	sameAsExcelize(t, path, "")
	sameAsExcelize(t, path, "hidden")

	r, err := Open(path, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Name() != "multi.xlsx [Data]" {
		t.Errorf("name = %q, want the first visible sheet with data", r.Name())
	}
	row, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if row.DateOfBirth != "1904-01-01" {
		t.Errorf("date_of_birth = %q, want 1904-01-01 (1904 date system)", row.DateOfBirth)
	}
	if _, err := Open(path, IngestOptions{SheetName: "nope"}); !errors.Is(err, ErrSheetNotFound) ||
		!strings.Contains(err.Error(), "Sheet1, Hidden, Empty, Data") {
		t.Errorf("err = %v", err)
	}
	if r, err := Open(path, IngestOptions{SheetName: "DATA"}); err != nil {
		t.Errorf("sheet named in other case: %v", err)
	} else {
		r.Close()
	}
}

// sameAsExcelize opens path with xlsxread's reader and with excelize's and
// requires the same sheet, date system and rows (xlsxread's own differential
// test, for the workbooks the ingest tests write).
func sameAsExcelize(t *testing.T, path, sheet string) []string {
	t.Helper()
	fast, err := xlsxread.Open(path, sheet)
	if err != nil {
		t.Fatalf("scan reader: %v", err)
	}
	ref, err := xlsxread.OpenExcelize(path, sheet)
	if err != nil {
		t.Fatalf("excelize reader: %v", err)
	}
	if fast.Name != ref.Name || fast.Date1904 != ref.Date1904 {
		t.Errorf("sheet %q 1904 %v, excelize: %q %v", fast.Name, fast.Date1904, ref.Name, ref.Date1904)
	}
	got, want := worksheetRows(t, fast), worksheetRows(t, ref)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scan reader and excelize differ on %s\nscan:     %v\nexcelize: %v", filepath.Base(path), got, want)
	}
	return got
}

// worksheetRows reads every non-blank row of a worksheet as (line, cells).
func worksheetRows(t *testing.T, s *xlsxread.Worksheet) []string {
	t.Helper()
	defer s.Close()
	var out []string
	for {
		line, cells, err := s.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if Blank(cells) {
			continue
		}
		out = append(out, fmt.Sprintf("%d:%q", line, cells))
	}
}
