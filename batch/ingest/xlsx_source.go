package ingest

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/xlsxread"
	"github.com/shopspring/decimal"
)

// xlsxSource streams one worksheet and turns numeric cells in money and
// date columns into the text a person sees in Excel.
type xlsxSource struct {
	rows     xlsxRows
	sheet    string
	date1904 bool
	// kinds says, per column, how numeric cells are turned into text once
	// the header is known.
	kinds []cellKind
	// ahead reads the rows after the header on another goroutine; nil
	// until setHeader.
	ahead *readAhead
	// bits says which money cells of the row next returned were stored as
	// text, and which were formulas.
	bits cellBits
}

// cellBits has bit i set for cell i of a row (columns past 64 are taken as
// plain numbers).
type cellBits struct {
	text    uint64 // stored as text, not as a number
	formula uint64 // a formula; its text is the last calculated value
	// fmts is the number format of each numeric cell of a column payrun
	// does not read, "" for the others; nil when the row has none.
	fmts []string
}

// xlsxRows is what ingest needs of a worksheet reader (*xlsxread.Worksheet):
// rows as raw cell text, and for the current row which cells the workbook
// stores as text rather than numbers and which are formulas.
type xlsxRows interface {
	Next() (line int, cells []string, err error)
	Close() error
	TextCell(col int) bool
	FormulaCell(col int) bool
	NumFmt(col int) string
}

// typedCells is a row source that knows which cells of its current row
// the workbook stores as text rather than numbers, and which are formulas.
type typedCells interface {
	textCell(col int) bool
	formulaCell(col int) bool
}

type cellKind int

const (
	kindText cellKind = iota
	kindMoney
	kindDateTime
	kindDate
)

// openXLSX opens the worksheet named sheet, or the first visible one with
// data, through xlsxread.
func openXLSX(path, sheetName string) (*xlsxSource, error) {
	ws, err := xlsxread.Open(path, sheetName)
	if err != nil {
		return nil, err
	}
	return &xlsxSource{rows: ws, sheet: ws.Name, date1904: ws.Date1904}, nil
}

// setHeader tells the source which columns hold money and dates, so numeric
// cells there are turned into the text a person sees in Excel.
func (s *xlsxSource) setHeader(hdr []string) {
	s.kinds = make([]cellKind, len(hdr))
	for i, h := range hdr {
		switch k, _ := sheet.MatchHeader(h); k {
		case sheet.ColAmount, sheet.ColAutopayPercentage:
			s.kinds[i] = kindMoney
		case sheet.ColTimeToProcess:
			s.kinds[i] = kindDateTime
		case sheet.ColDateOfBirth:
			s.kinds[i] = kindDate
		}
	}
	// From here on rows are only read and converted, which can overlap
	// with building and validating the previous ones.
	s.ahead = startReadAhead(s.readRow)
}

func (s *xlsxSource) next() (line int, cells []string, err error) {
	if s.ahead != nil {
		line, cells, s.bits, err = s.ahead.next()
	} else {
		line, cells, s.bits, err = s.readRow()
	}
	return line, cells, err
}

// textCell reports whether cell col of the row next returned is a money
// cell the workbook stores as text: "1.500" typed into a text cell is text
// with a decimal mark to ask about, not the number 1.5.
func (s *xlsxSource) textCell(col int) bool {
	return col < 64 && s.bits.text&(1<<col) != 0
}

// numFmt is the number format of cell col of the row next returned when it
// is a number in a column payrun does not read, "" otherwise.
func (s *xlsxSource) numFmt(col int) string {
	if col < len(s.bits.fmts) {
		return s.bits.fmts[col]
	}
	return ""
}

// formulaCell reports whether money cell col of the row next returned is a
// formula, so a mistake in its value can say so.
func (s *xlsxSource) formulaCell(col int) bool {
	return col < 64 && s.bits.formula&(1<<col) != 0
}

// readRow reads and converts the next row on the calling goroutine. Money
// cells stored as text are left as typed.
func (s *xlsxSource) readRow() (int, []string, cellBits, error) {
	line, cells, err := s.rows.Next()
	if err == io.EOF {
		return 0, nil, cellBits{}, io.EOF
	}
	if err != nil {
		return 0, nil, cellBits{}, fmt.Errorf("read worksheet %s: %w", s.sheet, err)
	}
	tc := s.rows
	var bits cellBits
	for i := range cells {
		if i >= len(s.kinds) || s.kinds[i] == kindText {
			if cells[i] != "" {
				if f := tc.NumFmt(i); f != "" && !tc.TextCell(i) && looksNumeric(cells[i]) {
					if bits.fmts == nil {
						bits.fmts = make([]string, len(cells))
					}
					bits.fmts[i] = f
					if s.date1904 && sheet.IsDateFormat(f) {
						// The results are written in the 1900 date system.
						cells[i] = sheet.From1904(cells[i])
					}
				}
			}
			continue
		}
		typed := s.kinds[i] == kindMoney && i < 64
		if typed && tc.FormulaCell(i) {
			bits.formula |= 1 << i
		}
		if cells[i] == "" {
			continue
		}
		if typed && tc.TextCell(i) {
			bits.text |= 1 << i
			continue
		}
		cells[i] = s.numericText(cells[i], s.kinds[i])
	}
	return line, cells, bits, nil
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
		t := sheet.ExcelSerialTime(f, s.date1904, time.UTC)
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
	if s.ahead != nil {
		s.ahead.stop()
	}
	return s.rows.Close()
}
