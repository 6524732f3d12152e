package results

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// sliceSource is a ResultsSource over rows already read, for the tests of
// the layout that need no ledger (injection, empty runs) and the benchmark's
// generator. The end-to-end tests read a real ledger.
type sliceSource struct {
	run       ResultsRun
	rows      []ResultRow
	conflicts []ConflictRow
}

func (s *sliceSource) ResultsRun(context.Context) (ResultsRun, error) { return s.run, nil }

func (s *sliceSource) ResultRows(ctx context.Context, fn func(*ResultRow) error) error {
	for i := range s.rows {
		r := s.rows[i]
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

func (s *sliceSource) ResultConflicts(ctx context.Context, fn func(*ConflictRow) error) error {
	for i := range s.conflicts {
		if err := fn(&s.conflicts[i]); err != nil {
			return err
		}
	}
	return nil
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func nd(s string) decimal.NullDecimal { return decimal.NewNullDecimal(dec(s)) }

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

// cellStyle reads the style of a cell.
func cellStyle(t *testing.T, f *excelize.File, sheet, ref string) *excelize.Style {
	t.Helper()
	id, err := f.GetCellStyle(sheet, ref)
	if err != nil {
		t.Fatalf("style of %s!%s: %v", sheet, ref, err)
	}
	st, err := f.GetStyle(id)
	if err != nil {
		t.Fatalf("style %d: %v", id, err)
	}
	return st
}

func numFmt(st *excelize.Style) string {
	if st.CustomNumFmt != nil {
		return *st.CustomNumFmt
	}
	return ""
}

func fillColor(st *excelize.Style) string {
	if len(st.Fill.Color) == 0 {
		return ""
	}
	return st.Fill.Color[0]
}

// cellRef names column col (0-based) of row (1-based).
func cellRef(col, row int) string {
	ref, _ := excelize.CoordinatesToCellName(col+1, row)
	return ref
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

// excelTime converts a raw date cell back to a time.
func excelTime(t *testing.T, raw string) time.Time {
	t.Helper()
	v, err := decimal.NewFromString(raw)
	if err != nil {
		t.Fatalf("date cell %q is not a number: %v", raw, err)
	}
	tm, err := excelize.ExcelDateToTime(v.InexactFloat64(), false)
	if err != nil {
		t.Fatalf("date cell %q: %v", raw, err)
	}
	return tm
}

// testNow is the clock of the tests that need no ledger.
var testNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
