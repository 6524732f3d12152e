package xlsxread

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// excelizeRows reads a worksheet through excelize's row iterator. It is
// slower than scanRows (it decodes every element with encoding/xml and,
// for a big sheet, unzips it to a temporary file first) and is kept for
// workbooks whose package layout scanRows does not know, and as the
// reference scanRows is tested against.
type excelizeRows struct {
	f    *excelize.File
	rows *excelize.Rows
	line int
}

// OpenExcelize opens the worksheet through excelize's row iterator: the
// reader for non-standard packages and the reference the scanner is tested
// against. Its caps are the scanner's.
func OpenExcelize(path, sheet string) (*Worksheet, error) {
	if err := checkDeclaredSizes(path); err != nil {
		return nil, err
	}
	f, err := excelize.OpenFile(path, excelize.Options{UnzipSizeLimit: maxWorksheetInflated + maxSharedStringsInflated})
	if err != nil {
		return nil, fmt.Errorf("open workbook: %w", err)
	}
	s := &Worksheet{}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		s.Date1904 = *props.Date1904
	}
	if sheet == "" {
		sheet, err = firstDataSheet(f)
	} else if idx, ierr := f.GetSheetIndex(sheet); ierr != nil || idx < 0 {
		err = fmt.Errorf("%w: %q (the workbook has %s)", ErrSheetNotFound, sheet, strings.Join(f.GetSheetList(), ", "))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open workbook: %w", err)
	}
	s.Name = sheet
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read worksheet %s: %w", sheet, err)
	}
	s.rows = &excelizeRows{f: f, rows: rows}
	return s, nil
}

// firstDataSheet is the first visible worksheet with a non-blank cell.
func firstDataSheet(f *excelize.File) (string, error) {
	for _, name := range f.GetSheetList() {
		if visible, err := f.GetSheetVisible(name); err == nil && !visible {
			continue
		}
		rows, err := f.Rows(name)
		if err != nil {
			continue
		}
		found := false
		for i := 0; rows.Next() && i < 1000; i++ {
			cells, err := rows.Columns(excelize.Options{RawCellValue: true})
			if err == nil && !blank(cells) {
				found = true
				break
			}
		}
		rows.Close()
		if found {
			return name, nil
		}
	}
	return "", ErrEmptySheet
}

func (r *excelizeRows) next() (int, []string, error) {
	if !r.rows.Next() {
		if err := r.rows.Error(); err != nil {
			return 0, nil, err
		}
		return 0, nil, io.EOF
	}
	r.line++
	// Raw values: numbers as stored, not as formatted ("$1,234.50" would
	// lose digits to the format), formulas as their cached result.
	cells, err := r.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, nil, fmt.Errorf("row %d: %w", r.line, err)
	}
	return r.line, cells, nil
}

func (r *excelizeRows) close() error {
	err := r.rows.Close()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}
