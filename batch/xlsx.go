package batch

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"
)

// xlsxSource streams one worksheet through excelize's row iterator, which
// decodes the sheet XML as it goes instead of loading every cell.
type xlsxSource struct {
	f        *excelize.File
	rows     *excelize.Rows
	sheet    string
	line     int
	date1904 bool
	// kinds says, per column, how numeric cells are turned into text once
	// the header is known.
	kinds []cellKind
}

type cellKind int

const (
	kindText cellKind = iota
	kindMoney
	kindDateTime
	kindDate
)

func openXLSX(path, sheet string) (*xlsxSource, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("open workbook: %w", err)
	}
	s := &xlsxSource{f: f}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		s.date1904 = *props.Date1904
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
	s.sheet = sheet
	if s.rows, err = f.Rows(sheet); err != nil {
		f.Close()
		return nil, fmt.Errorf("read worksheet %s: %w", sheet, err)
	}
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

// setHeader tells the source which columns hold money and dates, so numeric
// cells there are turned into the text a person sees in Excel.
func (s *xlsxSource) setHeader(hdr []string) {
	s.kinds = make([]cellKind, len(hdr))
	for i, h := range hdr {
		switch k, _ := MatchHeader(h); k {
		case ColAmount, ColAutopayPercentage:
			s.kinds[i] = kindMoney
		case ColTimeToProcess:
			s.kinds[i] = kindDateTime
		case ColDateOfBirth:
			s.kinds[i] = kindDate
		}
	}
}

func (s *xlsxSource) next() (int, []string, error) {
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return 0, nil, fmt.Errorf("read worksheet %s: %w", s.sheet, err)
		}
		return 0, nil, io.EOF
	}
	s.line++
	// Raw values: numbers as stored, not as formatted ("$1,234.50" would
	// lose digits to the format), formulas as their cached result.
	cells, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, nil, fmt.Errorf("read worksheet %s row %d: %w", s.sheet, s.line, err)
	}
	for i := range cells {
		if i < len(s.kinds) && s.kinds[i] != kindText && cells[i] != "" {
			cells[i] = s.numericText(cells[i], s.kinds[i])
		}
	}
	return s.line, cells, nil
}

// numericText turns a numeric cell's stored value into what Excel shows. A
// double such as 0.1+0.2 is stored as 0.30000000000000004; Excel shows 15
// significant digits, so money is rounded to those (in decimal, not float)
// and the rest of the pipeline never sees binary noise. Dates stored as day
// serials become ISO text. Text cells pass through untouched.
func (s *xlsxSource) numericText(v string, kind cellKind) string {
	if !looksNumeric(v) {
		return v
	}
	switch kind {
	case kindMoney:
		d, err := decimal.NewFromString(v)
		if err != nil {
			return v
		}
		return roundSignificant(d, 15).String()
	case kindDateTime, kindDate:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f >= 2958466 {
			return v
		}
		t := excelSerialTime(f, s.date1904, time.UTC)
		if kind == kindDate {
			return t.Format("2006-01-02")
		}
		return t.Format("2006-01-02T15:04:05")
	}
	return v
}

// looksNumeric reports whether v is a number as the sheet XML stores one.
func looksNumeric(v string) bool {
	if v == "" {
		return false
	}
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9', r == '.':
		case (r == '-' || r == '+') && (i == 0 || v[i-1] == 'E' || v[i-1] == 'e'):
		case r == 'E' || r == 'e':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// roundSignificant rounds d to n significant digits.
func roundSignificant(d decimal.Decimal, n int32) decimal.Decimal {
	if d.IsZero() {
		return d
	}
	digits := int32(len(d.Coefficient().String())) - boolInt(d.Coefficient().Sign() < 0)
	if digits <= n {
		return d
	}
	places := -d.Exponent() - (digits - n)
	return d.Round(places)
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func (s *xlsxSource) close() error {
	err := s.rows.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
