package xlsxread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxSheetRows is Excel's last row (excelize.TotalRows).
const maxSheetRows = 1 << 20

// maxSheetColumns is Excel's last column, XFD (excelize.MaxColumns).
const maxSheetColumns = 16384

// errBadCellRef is a cell whose r attribute is not a cell name.
var errBadCellRef = errors.New("invalid cell reference")

// scanRows streams the rows of one worksheet part with xmlScanner. Each
// call to next returns the row's cells as text the way excelize's
// Rows.Columns with RawCellValue does (so the two readers are
// interchangeable, and a test holds them to it): shared and inline strings
// resolved, numbers, booleans, errors and formula results as stored,
// blank cells before a value kept as "", trailing blank cells dropped, and
// a formula cell kept even when its cached value is empty. Only the current
// row is held; its cells slice is reused by the next call.
type scanRows struct {
	rc    io.ReadCloser
	sc    *xmlScanner
	sst   *sharedStrings
	line  int
	done  bool
	cells []string
	text  uint64 // bit i: cell i of the current row is a string (i < 64)
	// styles is the workbook's number format per cell style; style holds
	// the style index of each cell of the current row, when styles is set.
	styles []string
	style  []int
	form   uint64 // bit i: cell i of the current row is a formula (i < 64)
	v, is  []byte // the current cell's <v> and inline string text
}

// cellNumFmt is the number format code of cell col (0-based) of the
// current row: "" for General, text, or a workbook whose styles were not
// read.
func (s *scanRows) cellNumFmt(col int) string {
	if col >= len(s.style) {
		return ""
	}
	if i := s.style[col]; i > 0 && i < len(s.styles) {
		return s.styles[i]
	}
	return ""
}

// formulaCell reports whether cell col (0-based) of the current row holds a
// formula; its text is the value last calculated, "" when never calculated.
func (s *scanRows) formulaCell(col int) bool {
	return col < 64 && s.form&(1<<col) != 0
}

// textCell reports whether cell col (0-based) of the current row is stored
// as a string (shared or inline), not a number.
// Cells past the 64th are reported as numbers.
func (s *scanRows) textCell(col int) bool {
	return col < 64 && s.text&(1<<col) != 0
}

func newScanRows(rc io.ReadCloser, sst *sharedStrings) *scanRows {
	return &scanRows{rc: rc, sc: newXMLScanner(rc), sst: sst}
}

// next returns the next <row> element's number and cells, or io.EOF after
// </sheetData>. Rows the sheet leaves out are blank and not returned.
func (s *scanRows) next() (int, []string, error) {
	if s.done {
		return 0, nil, io.EOF
	}
	sc := s.sc
	for {
		err := sc.next()
		if err == io.EOF {
			s.done = true
			return 0, nil, io.EOF
		}
		if err != nil {
			return 0, nil, err
		}
		switch {
		case sc.is(xmlStart, "row"):
			return s.row()
		case sc.is(xmlEnd, "sheetData"):
			s.done = true
			return 0, nil, io.EOF
		}
	}
}

// row reads the row element the scanner is on.
func (s *scanRows) row() (int, []string, error) {
	sc := s.sc
	line := s.line + 1
	if v, ok := attr(sc.attrs, "r"); ok {
		// A row number that is not a number, or goes backwards, is
		// ignored and the row taken to follow the last one, as excelize does.
		if n, err := strconv.Atoi(string(v)); err == nil && n > s.line {
			line = n
		}
	}
	if line > maxSheetRows {
		return 0, nil, fmt.Errorf("row %d is past Excel's last row %d", line, maxSheetRows)
	}
	s.line = line
	s.cells = s.cells[:0]
	s.style = s.style[:0]
	s.text, s.form = 0, 0
	if sc.selfClose {
		return line, s.cells, nil
	}
	col := 0
	for {
		if err := sc.next(); err != nil {
			return 0, nil, noEOF(err)
		}
		switch {
		case sc.kind == xmlEnd && string(sc.name) == "row":
			return line, s.cells, nil
		case sc.kind == xmlStart && string(sc.name) == "c":
			if col >= maxSheetColumns {
				// Cells without a reference count on past Excel's last
				// column; the row would grow without bound.
				return 0, nil, fmt.Errorf("row %d: more than Excel's %d columns", line, maxSheetColumns)
			}
			var err error
			if col, err = s.cell(col + 1); err != nil {
				return 0, nil, fmt.Errorf("row %d: %w", line, err)
			}
		case sc.kind == xmlStart:
			if err := sc.skipElement(); err != nil {
				return 0, nil, err
			}
		}
	}
}

// cell reads the <c> element the scanner is on, the col-th of its row
// unless its r attribute says otherwise, appends its value and returns its
// column.
func (s *scanRows) cell(col int) (int, error) {
	sc := s.sc
	if ref, ok := attr(sc.attrs, "r"); ok && len(ref) > 0 {
		c, err := cellColumn(ref)
		if err != nil {
			return col, err
		}
		col = c
	}
	typ, _ := attr(sc.attrs, "t")
	styleIdx := 0
	if s.styles != nil {
		if v, ok := attr(sc.attrs, "s"); ok {
			styleIdx, _ = strconv.Atoi(string(v))
		}
	}
	var kind byte // 's' shared, 'i' inline, 0 the value as stored
	switch string(typ) {
	case "s":
		kind = 's'
	case "inlineStr":
		kind = 'i'
	}
	s.v, s.is = s.v[:0], s.is[:0]
	formula, inline := false, false
	if !sc.selfClose {
		for done := false; !done; {
			if err := sc.next(); err != nil {
				return col, noEOF(err)
			}
			var err error
			switch {
			case sc.kind == xmlEnd:
				done = string(sc.name) == "c"
			case sc.kind != xmlStart:
			case string(sc.name) == "v":
				s.v, err = sc.appendText(s.v)
			case string(sc.name) == "f":
				formula = true
				err = sc.skipElement()
			case string(sc.name) == "is":
				inline = true
				s.is, err = appendStringItem(sc, s.is)
			default:
				err = sc.skipElement()
			}
			if err != nil {
				return col, err
			}
		}
	}
	val := ""
	switch {
	case kind == 's' && len(s.v) > 0:
		// A bad index reads as string 0 (excelize's Atoi) or, out of the
		// table, as blank, as excelize reads it.
		i, _ := strconv.Atoi(string(bytes.TrimSpace(s.v)))
		if i >= 0 && i < s.sst.len() {
			val = s.sst.at(i)
		}
	case kind == 'i' && inline:
		val = string(unescapeBSTR(s.is))
	default:
		val = string(s.v)
	}
	if val != "" || formula {
		for len(s.cells) < col-1 {
			s.cells = append(s.cells, "")
		}
		s.cells = append(s.cells, val)
		if s.styles != nil {
			for len(s.style) < col-1 {
				s.style = append(s.style, 0)
			}
			s.style = append(s.style, styleIdx)
		}
		// A formula's string result (t="str") is not counted as text:
		// excelize marks every formula so, numbers included.
		if kind != 0 && col-1 < 64 {
			s.text |= 1 << (col - 1)
		}
		if formula && col-1 < 64 {
			s.form |= 1 << (col - 1)
		}
	}
	return col, nil
}

// cellColumn returns the 1-based column of a cell name such as "AB12".
func cellColumn(ref []byte) (int, error) {
	col, i := 0, 0
	for ; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'A' <= c && c <= 'Z':
			col = col*26 + int(c-'A') + 1
		case 'a' <= c && c <= 'z':
			col = col*26 + int(c-'a') + 1
		default:
			goto digits
		}
		if col > maxSheetColumns {
			return 0, fmt.Errorf("%w %q", errBadCellRef, ref)
		}
	}
digits:
	if i == 0 || i == len(ref) {
		return 0, fmt.Errorf("%w %q", errBadCellRef, ref)
	}
	for _, c := range ref[i:] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w %q", errBadCellRef, ref)
		}
	}
	return col, nil
}

func (s *scanRows) close() error { return s.rc.Close() }
