package ingest

import (
	"fmt"
	"io"
	"path/filepath"
)

// RawSheet is a sheet positioned after a header row that a predicate chose.
type RawSheet struct {
	src        source
	Name       string   // the file name, and for XLSX the worksheet
	Header     []string // the header row as written
	HeaderLine int      // its row number
}

// Next returns the next row after the header, or io.EOF after the last.
func (rs *RawSheet) Next() (line int, cells []string, err error) { return rs.src.next() }

// Close releases the file.
func (rs *RawSheet) Close() error { return rs.src.close() }

// OpenRawSheet opens a CSV or XLSX file as rows of text and finds the
// header among the first rows with isHeader. Columns for which numeric
// reports true read XLSX numbers as the decimal a person sees.
func OpenRawSheet(path string, opts IngestOptions, isHeader func([]string) bool, numeric func(string) bool) (*RawSheet, error) {
	format, err := sniffFormat(path)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(path)
	}
	rs := &RawSheet{Name: name}
	var xs *xlsxSource
	if format == FormatXLSX {
		if xs, err = openXLSX(path, opts.SheetName); err != nil {
			return nil, err
		}
		rs.src, rs.Name = xs, fmt.Sprintf("%s [%s]", name, xs.sheet)
	} else {
		cs, err := openCSV(path)
		if err != nil {
			return nil, err
		}
		rs.src = cs
	}
	for seen := 0; seen < errHeaderScanSize; {
		line, cells, err := rs.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rs.Close()
			return nil, fmt.Errorf("open %s: %w", rs.Name, err)
		}
		if Blank(cells) {
			continue
		}
		seen++
		if isHeader(cells) {
			rs.Header, rs.HeaderLine = append([]string(nil), cells...), line
			break
		}
	}
	if rs.Header == nil {
		rs.Close()
		return nil, fmt.Errorf("open %s: %w: expected a row naming columns such as internal_user_id and percentage in the first %d rows", rs.Name, ErrNoHeader, errHeaderScanSize)
	}
	if xs != nil {
		xs.kinds = make([]cellKind, len(rs.Header))
		for i, h := range rs.Header {
			if numeric(h) {
				xs.kinds[i] = kindMoney
			}
		}
	}
	return rs, nil
}
