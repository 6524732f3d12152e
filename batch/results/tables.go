package results

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/gocarina/gocsv"

	"github.com/payrun/payrun/batch/ingest"
)

// The wallet, autopay and tax exports are small tables a person opens in a
// spreadsheet. They reuse the results writer's typed cells, styles and
// atomic file writing, so an amount looks the same in every file payrun
// writes and a crash never leaves half an export under its final name.

// The CSV form of these fixed-schema exports is written by gocsv from one
// record struct per export, whose csv tags are the header; the XLSX form
// takes the same records' Cell fields in order (RecordTable), so both files
// always carry the same columns. A Cell marshals through csvText, so a CSV
// cell is byte for byte what encoding/csv wrote before (gocsv writes
// through it): text stays formula-inert and money decimal text with the
// currency's decimals.

// Table is one worksheet of an export: Name, its column Header and Rows;
// build it with RecordTable.
type Table struct {
	Name   string
	Header []string
	Rows   [][]Cell
	// Records is the slice of record structs Rows came from, which gocsv
	// writes for the CSV form.
	Records any
	Fills   []RowFill // per row; nil or short means no fill
	// Empty is the line written when there are no rows, so an empty sheet
	// says why instead of looking broken.
	Empty string
}

// RecordTable is the export table of records of one struct type R: its
// Header is R's csv tags (RecordHeader), each row R's Cell fields in order.
func RecordTable[R any](name string, recs []R, empty string) Table {
	t := Table{Name: name, Header: RecordHeader[R](), Empty: empty, Records: recs}
	if recs == nil {
		t.Records = []R{} // gocsv takes the header from the slice's type
	}
	for _, r := range recs {
		t.Rows = append(t.Rows, recordCells(r))
	}
	return t
}

// RecordHeader is the CSV header gocsv writes for record type R: its
// fields' csv tags, in order.
func RecordHeader[R any]() []string {
	rt := reflect.TypeFor[R]()
	h := make([]string, 0, rt.NumField())
	for i := range rt.NumField() {
		h = append(h, rt.Field(i).Tag.Get("csv"))
	}
	return h
}

// recordCells is the XLSX row of an export record: its Cell fields, in
// order, which are the columns gocsv writes from the csv tags.
func recordCells(rec any) []Cell {
	v := reflect.ValueOf(rec)
	cells := make([]Cell, 0, v.NumField())
	for i := range v.NumField() {
		if c, ok := v.Field(i).Interface().(Cell); ok {
			cells = append(cells, c)
		}
	}
	return cells
}

// ExportFormatOf is the format an export path asks for by its extension:
// CSV for .csv, XLSX for everything else.
func ExportFormatOf(path string) ingest.Format {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return ingest.FormatCSV
	}
	return ingest.FormatXLSX
}

// ExportSiblingPath is where the CSV form of an export puts a second table
// (for example the tax export's payees missing a tax id): beside path,
// named <stem>.<name>.csv.
func ExportSiblingPath(path, name string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, strings.TrimSuffix(base, filepath.Ext(base))+"."+name+".csv")
}

// WriteTables writes tables to path in format: one workbook with a sheet per
// table, or CSV files (the first table at path, the others at
// ExportSiblingPath). It returns the paths written.
func WriteTables(path string, format ingest.Format, tables []Table) ([]string, error) {
	if path == "" {
		return nil, ErrResultsPathNeeded
	}
	if format == ingest.FormatCSV {
		var paths []string
		for i, t := range tables {
			p := path
			if i > 0 {
				p = ExportSiblingPath(path, strings.ToLower(strings.ReplaceAll(t.Name, " ", "-")))
			}
			if err := WriteAtomic(p, func(w io.Writer) error { return writeTableCSV(w, t) }); err != nil {
				return paths, fmt.Errorf("write %s: %w", filepath.Base(p), err)
			}
			paths = append(paths, p)
		}
		return paths, nil
	}
	bk := newXLSXBook()
	defer bk.Close()
	f := bk.f
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.Name); err != nil {
				return nil, fmt.Errorf("name sheet %s: %w", t.Name, err)
			}
		} else if _, err := f.NewSheet(t.Name); err != nil {
			return nil, fmt.Errorf("add sheet %s: %w", t.Name, err)
		}
		if err := writeTableXLSX(bk, t); err != nil {
			return nil, err
		}
	}
	// The first sheet is the active one already; SetActiveSheet would
	// re-read every streamed sheet.
	if err := WriteAtomic(path, bk.writeTo); err != nil {
		return nil, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return []string{path}, nil
}

func writeTableCSV(w io.Writer, t Table) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return err
	}
	if err := gocsv.MarshalCSV(t.Records, gocsv.NewSafeCSVWriter(csv.NewWriter(bw))); err != nil {
		return err
	}
	return bw.Flush()
}

func writeTableXLSX(bk *xlsxBook, t Table) error {
	s, err := bk.sheet(t.Name)
	if err != nil {
		return err
	}
	widths := make([]float64, len(t.Header))
	for i, h := range t.Header {
		widths[i] = float64(len(h)) + 4
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], min(displayWidth(c)+2, 60))
			}
		}
	}
	if err := s.begin(widths, t.Header, 0, func(int) bool { return false }); err != nil {
		return err
	}
	for i, r := range t.Rows {
		fill := FillNone
		if i < len(t.Fills) {
			fill = t.Fills[i]
		}
		if err := s.write(r, fill, -1); err != nil {
			return err
		}
	}
	if len(t.Rows) == 0 && t.Empty != "" {
		if err := s.write([]Cell{TextCell(t.Empty)}, FillNone, -1); err != nil {
			return err
		}
	}
	return s.finish(len(t.Rows) > 0)
}
