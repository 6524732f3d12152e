package results

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
)

// The wallet, autopay and tax exports are small tables a person opens in a
// spreadsheet. They reuse the results writer's typed cells, styles and
// atomic file writing, so an amount looks the same in every file payrun
// writes and a crash never leaves half an export under its final name.

// Table is one worksheet of an export: Name, its column Header and Rows.
type Table struct {
	Name   string
	Header []string
	Rows   [][]Cell
	Fills  []RowFill // per row; nil or short means no fill
	// Empty is the line written when there are no rows, so an empty sheet
	// says why instead of looking broken.
	Empty string
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
	out, err := newCSVSink(w)
	if err != nil {
		return err
	}
	if err := out.header(t.Header); err != nil {
		return err
	}
	for _, r := range t.Rows {
		if err := out.write(r); err != nil {
			return err
		}
	}
	return out.close()
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
