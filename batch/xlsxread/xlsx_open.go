package xlsxread

import (
	"errors"
	"fmt"
	"strings"
)

// Worksheet is one worksheet being read: its rows as raw cell text (numbers
// as stored, formulas as their last calculated value), its name and the
// workbook's date system.
type Worksheet struct {
	rows     rowReader
	Name     string // the worksheet read
	Date1904 bool   // the workbook counts dates from 1904
}

// rowReader yields a worksheet's rows: scanRows, or excelizeRows for a
// package scanRows cannot find its way around.
type rowReader interface {
	next() (line int, cells []string, err error)
	close() error
}

// cellTyper is a row reader that knows which cells of its current row the
// workbook stores as text rather than numbers, and which are formulas.
type cellTyper interface {
	textCell(col int) bool
	formulaCell(col int) bool
}

// styledCells is a row reader that knows the number format of each cell
// of its current row.
type styledCells interface {
	cellNumFmt(col int) string
}

// NumFmt is the number format code of cell col of the row Next returned:
// "" for General, text, or when the reader cannot tell.
func (s *Worksheet) NumFmt(col int) string {
	sc, ok := s.rows.(styledCells)
	if !ok {
		return ""
	}
	return sc.cellNumFmt(col)
}

// Next returns the next row and its line number as the spreadsheet shows
// it, or io.EOF after the last.
func (s *Worksheet) Next() (line int, cells []string, err error) { return s.rows.next() }

// Close releases the workbook.
func (s *Worksheet) Close() error { return s.rows.close() }

// TextCell reports whether cell col of the row Next returned is stored as
// text rather than as a number (false when the reader cannot tell).
func (s *Worksheet) TextCell(col int) bool {
	tc, ok := s.rows.(cellTyper)
	return ok && tc.textCell(col)
}

// FormulaCell reports whether cell col of the row Next returned is a
// formula (false when the reader cannot tell).
func (s *Worksheet) FormulaCell(col int) bool {
	tc, ok := s.rows.(cellTyper)
	return ok && tc.formulaCell(col)
}

// Open opens the worksheet named sheetName, or the first visible
// one with data. It reads the package itself and streams the sheet XML with
// scanRows; a workbook whose parts are not where a standard one keeps them
// is read through excelize instead.
func Open(path, sheetName string) (*Worksheet, error) {
	s, err := openXLSXScan(path, sheetName)
	if errors.Is(err, errNotStandardXLSX) {
		return OpenExcelize(path, sheetName)
	}
	return s, err
}

func openXLSXScan(path, sheetName string) (*Worksheet, error) {
	pkg, err := openXLSXPackage(path)
	if err != nil {
		return nil, err
	}
	rows, name, err := pkg.open(sheetName)
	if err != nil {
		pkg.close()
		return nil, err
	}
	rows.styles = pkg.styles
	return &Worksheet{rows: &packageRows{scanRows: rows, pkg: pkg}, Name: name, Date1904: pkg.date1904}, nil
}

// packageRows closes the package with its rows.
type packageRows struct {
	*scanRows
	pkg *xlsxPackage
}

func (r *packageRows) close() error {
	err := r.scanRows.close()
	if cerr := r.pkg.close(); err == nil {
		err = cerr
	}
	return err
}

// open finds the sheet and starts reading it. The shared strings are read
// first: whether a row is blank depends on the strings its cells point at.
func (p *xlsxPackage) open(sheetName string) (*scanRows, string, error) {
	sst, err := p.sharedStrings()
	if err != nil {
		return nil, "", fmt.Errorf("open workbook: %w", err)
	}
	if sheetName != "" {
		for _, ref := range p.sheets {
			if strings.EqualFold(ref.name, sheetName) {
				rows, err := p.openRows(ref, sst)
				return rows, sheetName, err
			}
		}
		return nil, "", fmt.Errorf("open workbook: %w: %q (the workbook has %s)", ErrSheetNotFound, sheetName, strings.Join(p.sheetNames(), ", "))
	}
	// The first visible sheet with a non-blank cell in its first 1000 rows.
	for _, ref := range p.sheets {
		if !ref.visible || ref.part == "" {
			continue
		}
		rows, err := p.openRows(ref, sst)
		if err != nil {
			return nil, "", err
		}
		found := false
		for i := 0; i < 1000 && !found; i++ {
			_, cells, err := rows.next()
			if err != nil {
				break
			}
			found = !blank(cells)
		}
		rows.close()
		if found {
			rows, err := p.openRows(ref, sst)
			return rows, ref.name, err
		}
	}
	return nil, "", fmt.Errorf("open workbook: %w", ErrEmptySheet)
}
