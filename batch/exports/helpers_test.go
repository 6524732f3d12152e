package exports

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// Copies of batch/results' test helpers, for the export tests (tax,
// autopay) that stayed with their code here: test files cannot be shared
// between packages.

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// openBook opens a written workbook and closes it with the test.
func openBook(t *testing.T, path string) *excelize.File {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// rawRows reads a sheet's raw cell values.
func rawRows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("read %s: %v", sheet, err)
	}
	return rows
}

// colIndex finds a header, failing the test when it is missing.
func colIndex(t *testing.T, header []string, name string, from int) int {
	t.Helper()
	for i := from; i < len(header); i++ {
		if header[i] == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return -1
}

// readCSV reads an export CSV, checking and dropping its UTF-8 BOM.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := strings.CutPrefix(string(b), "\ufeff")
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
