package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
	"github.com/payrun/payrun/batch/xlsxread"
)

// Errors returned by Open.
var (
	ErrNoHeader      = errors.New("no header row found")
	ErrUnknownFormat = errors.New("unknown sheet format")
	ErrSheetNotFound = xlsxread.ErrSheetNotFound
	ErrEmptySheet    = xlsxread.ErrEmptySheet
	ErrLegacyXLS     = errors.New("legacy .xls workbooks are not supported; save the file as .xlsx or .csv")
	// ErrTooManyColumns means the header has more columns than the results
	// workbook can echo beside payrun's own (MaxInputColumns).
	ErrTooManyColumns = errors.New("too many columns")
	// ErrWorkbookTooLarge means a part of an XLSX (a zip) inflates past
	// what a payout sheet needs: a zip bomb, or a workbook to split.
	ErrWorkbookTooLarge = xlsxread.ErrWorkbookTooLarge
	// ErrBadDecimalMark means a decimal mark other than , or . was given.
	ErrBadDecimalMark = errors.New(`the decimal mark is "," or "."`)
	errHeaderScanSize = 30 // rows searched for the header
)

// MaxInputColumns is the most columns a sheet may have: Excel's 16,384
// less the sheet.ResultColumns the results workbook adds after the sheet's own.
var MaxInputColumns = 16384 - len(sheet.ResultColumns)

// Format is a sheet's file format.
type Format string

// Formats Open reads.
const (
	FormatCSV  Format = "csv"
	FormatXLSX Format = "xlsx"
)

// IngestOptions tune how a sheet is read; the zero value reads any sheet.
type IngestOptions struct {
	// SheetName picks an XLSX worksheet; empty takes the first visible
	// worksheet that has any data.
	SheetName string
	// DecimalMark is the decimal mark of text amounts, ',' or '.', as
	// --decimal-mark (or decimal_mark in payrun.toml) gives it. 0 reads
	// each value the only way it can be read and refuses one that the two
	// marks read as different numbers ("1,500"); see readAmount. XLSX
	// numeric cells are numbers and never ask.
	DecimalMark rune
	// Location is the time zone of times written without one
	// (time_to_process "2026-07-01 09:00"). Nil means time.Local.
	Location *time.Location
	// Name is how problems name the file; empty uses the file's base name.
	Name string
}

// source yields a sheet's non-header rows as cell text.
type source interface {
	// next returns the next row's number as a person sees it and its cells,
	// or io.EOF.
	next() (line int, cells []string, err error)
	close() error
}

// SheetReader streams the rows of one sheet. It holds one row at a time, so
// a million-row file reads in constant memory.
type SheetReader struct {
	name       string
	format     Format
	cols       []sheet.Column
	headerLine int
	problems   []sheet.Problem
	src        source
	b          rowBuilder
}

// Open opens the sheet at path, finds its header row and returns a reader
// positioned on the first data row. The format comes from the file's
// content (an XLSX is a zip) and then its extension. Structural failures
// (unreadable file, no header) are errors; mistakes in the header, such as a
// missing required column, are Problems reported by HeaderProblems.
func Open(path string, opts IngestOptions) (*SheetReader, error) {
	format, err := sniffFormat(path)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(path)
	}
	r := &SheetReader{format: format, name: name}
	if m := opts.DecimalMark; m != 0 && m != ',' && m != '.' {
		return nil, fmt.Errorf("open sheet: decimal mark %q: %w", m, ErrBadDecimalMark)
	}
	var hdr []string
	switch format {
	case FormatXLSX:
		xs, err := openXLSX(path, opts.SheetName)
		if err != nil {
			return nil, err
		}
		r.src = xs
		r.name = fmt.Sprintf("%s [%s]", name, xs.sheet)
		r.headerLine, hdr, err = findHeader(xs)
		if err == nil {
			hdr, err = checkWidth(hdr)
		}
		if err != nil {
			xs.close()
			return nil, fmt.Errorf("open %s: %w", r.name, err)
		}
		xs.setHeader(hdr)
	default:
		cs, err := openCSV(path)
		if err != nil {
			return nil, err
		}
		r.src = cs
		r.problems = append(r.problems, cs.warnings(name)...)
		r.headerLine, hdr, err = findHeader(cs)
		if err == nil {
			hdr, err = checkWidth(hdr)
		}
		if err != nil {
			cs.close()
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
	}
	r.cols, r.problems = matchColumns(r.name, r.headerLine, hdr, r.problems)
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	r.b = rowBuilder{cols: r.cols, mark: opts.DecimalMark, loc: loc, sheet: r.name}
	if xs, ok := r.src.(*xlsxSource); ok {
		// Read through excelize (a non-standard package) nothing says which
		// cells are text or formulas: every cell that looks like a number is
		// one, as before.
		r.b.typed, r.b.formats = xs, xs
	}
	return r, nil
}

// sniffFormat tells XLSX from CSV by the file's first bytes, then its name.
func sniffFormat(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("open sheet: %w", err)
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return FormatXLSX, nil
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return "", fmt.Errorf("open %s: %w", filepath.Base(path), ErrLegacyXLS)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".xlsx", ".xlsm":
		return "", fmt.Errorf("open %s: %w: not a zip file, so not an .xlsx", filepath.Base(path), ErrUnknownFormat)
	}
	return FormatCSV, nil
}

// findHeader returns the first row that names at least 3 known columns,
// skipping the title rows some sheets carry above their header.
func findHeader(src source) (int, []string, error) {
	seen := 0
	for seen < errHeaderScanSize {
		line, cells, err := src.next()
		if err == io.EOF {
			if seen == 0 {
				return 0, nil, ErrEmptySheet
			}
			break
		}
		if err != nil {
			return 0, nil, err
		}
		if Blank(cells) {
			continue
		}
		seen++
		if sheet.KnownHeaderCount(cells) >= 3 {
			return line, append([]string(nil), cells...), nil
		}
	}
	return 0, nil, fmt.Errorf("%w: expected a row naming columns such as client_transfer_id, email, amount in the first %d rows", ErrNoHeader, errHeaderScanSize)
}

// checkWidth refuses a header wider than MaxInputColumns with
// ErrTooManyColumns, naming the first column past it. Blank header cells at
// the end do not count. Every column is echoed in the results workbook,
// which Excel caps at 16,384 columns, and a 200,000-column sheet once passed
// validation, was paid, and then hung writing its results.
func checkWidth(hdr []string) ([]string, error) {
	if len(hdr) <= MaxInputColumns {
		return hdr, nil
	}
	for len(hdr) > MaxInputColumns && strings.TrimSpace(hdr[len(hdr)-1]) == "" {
		hdr = hdr[:len(hdr)-1]
	}
	if len(hdr) <= MaxInputColumns {
		return hdr, nil
	}
	return nil, fmt.Errorf("%w: the header has %d columns; column %d (%q) is past the %d a sheet may have (Excel's 16,384 less the %d payrun adds to the results); remove the columns no payment needs",
		ErrTooManyColumns, len(hdr), MaxInputColumns+1, validate.ClipValue(hdr[MaxInputColumns]), MaxInputColumns, len(sheet.ResultColumns))
}

// matchColumns maps each header cell to its canonical key and reports
// missing required columns and columns given twice.
func matchColumns(sheetName string, line int, hdr []string, problems []sheet.Problem) ([]sheet.Column, []sheet.Problem) {
	cols := make([]sheet.Column, len(hdr))
	first := map[string]int{}
	for i, h := range hdr {
		key, cur := sheet.MatchHeader(h)
		cols[i] = sheet.Column{Index: i, Header: strings.TrimSpace(h), Key: key, Currency: cur}
		if key == "" {
			continue
		}
		if j, dup := first[key]; dup {
			problems = append(problems, sheet.Problem{Sheet: sheetName, Line: line, Column: cols[i].Header, Value: h, Rule: "duplicate_column",
				Message: fmt.Sprintf("column %s appears twice (columns %s and %s); keep one", key, sheet.ColumnLetter(j), sheet.ColumnLetter(i))})
			cols[i].Key = "" // the first one wins; the second is echoed only
			continue
		}
		first[key] = i
	}
	for _, req := range sheet.RequiredColumns {
		if _, ok := first[req]; !ok {
			problems = append(problems, sheet.Problem{Sheet: sheetName, Line: line, Column: req, Rule: "missing_column",
				Message: fmt.Sprintf("required column %s is missing from the header", req)})
		}
	}
	return cols, problems
}

// Blank reports whether a row has no cell but spaces.
func Blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// Next returns the next non-blank row, or io.EOF after the last one. A
// returned error other than io.EOF means the file could not be read further.
func (r *SheetReader) Next() (sheet.Row, error) {
	for {
		line, cells, err := r.src.next()
		if err != nil {
			return sheet.Row{}, err
		}
		if Blank(cells) {
			continue
		}
		return r.b.build(line, cells), nil
	}
}

// All iterates over the remaining rows; it stops after yielding an error.
func (r *SheetReader) All() iter.Seq2[sheet.Row, error] {
	return func(yield func(sheet.Row, error) bool) {
		for {
			row, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(row, err) || err != nil {
				return
			}
		}
	}
}

// Name is how problems name the sheet: the file name, and for XLSX the
// worksheet in brackets.
func (r *SheetReader) Name() string { return r.name }

// Format is the file's format.
func (r *SheetReader) Format() Format { return r.format }

// Columns are the header's columns in sheet order.
func (r *SheetReader) Columns() []sheet.Column { return append([]sheet.Column(nil), r.cols...) }

// HeaderLine is the row number of the header.
func (r *SheetReader) HeaderLine() int { return r.headerLine }

// DecimalMark is the decimal mark text amounts are read with, ',' or '.',
// or 0 when each value is read the only way it can be.
func (r *SheetReader) DecimalMark() rune { return r.b.mark }

// HeaderProblems are the mistakes found in the header (missing or doubled
// columns) and in the file as a whole (its encoding).
func (r *SheetReader) HeaderProblems() []sheet.Problem {
	return append([]sheet.Problem(nil), r.problems...)
}

// Close releases the file.
func (r *SheetReader) Close() error { return r.src.close() }

// Sheet is a whole sheet in memory: for tests, the CLI's small sheets and
// the template check. Large sheets should be streamed with Open.
type Sheet struct {
	Name     string
	Format   Format
	Columns  []sheet.Column
	Rows     []sheet.Row
	Problems []sheet.Problem // header problems only; see Validate
}

// ReadAll reads every row of the sheet at path.
func ReadAll(path string, opts IngestOptions) (*Sheet, error) {
	r, err := Open(path, opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	s := &Sheet{Name: r.Name(), Format: r.Format(), Columns: r.Columns(), Problems: r.HeaderProblems()}
	for row, err := range r.All() {
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", r.Name(), err)
		}
		s.Rows = append(s.Rows, row)
	}
	return s, nil
}
