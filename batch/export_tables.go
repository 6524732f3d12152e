package batch

import (
	"fmt"
	"github.com/payrun/payrun/batch/ingest"
	"io"
	"path/filepath"
	"strings"
)

// The wallet, autopay and tax exports are small tables a person opens in a
// spreadsheet. They reuse the results writer's typed cells, styles and
// atomic file writing, so an amount looks the same in every file payrun
// writes and a crash never leaves half an export under its final name.

// exportTable is one worksheet of an export.
type exportTable struct {
	name   string
	header []string
	rows   [][]outCell
	fills  []rowFill // per row; nil or short means no fill
	// empty is the line written when there are no rows, so an empty sheet
	// says why instead of looking broken.
	empty string
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

// writeExport writes tables to path in format: one workbook with a sheet per
// table, or CSV files (the first table at path, the others at
// ExportSiblingPath). It returns the paths written.
func writeExport(path string, format ingest.Format, tables []exportTable) ([]string, error) {
	if path == "" {
		return nil, ErrResultsPathNeeded
	}
	if format == ingest.FormatCSV {
		var paths []string
		for i, t := range tables {
			p := path
			if i > 0 {
				p = ExportSiblingPath(path, strings.ToLower(strings.ReplaceAll(t.name, " ", "-")))
			}
			if err := writeAtomic(p, func(w io.Writer) error { return writeTableCSV(w, t) }); err != nil {
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
			if err := f.SetSheetName("Sheet1", t.name); err != nil {
				return nil, fmt.Errorf("name sheet %s: %w", t.name, err)
			}
		} else if _, err := f.NewSheet(t.name); err != nil {
			return nil, fmt.Errorf("add sheet %s: %w", t.name, err)
		}
		if err := writeTableXLSX(bk, t); err != nil {
			return nil, err
		}
	}
	// The first sheet is the active one already; SetActiveSheet would
	// re-read every streamed sheet.
	if err := writeAtomic(path, bk.writeTo); err != nil {
		return nil, fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return []string{path}, nil
}

func writeTableCSV(w io.Writer, t exportTable) error {
	out, err := newCSVSink(w)
	if err != nil {
		return err
	}
	if err := out.header(t.header); err != nil {
		return err
	}
	for _, r := range t.rows {
		if err := out.write(r); err != nil {
			return err
		}
	}
	return out.close()
}

func writeTableXLSX(bk *xlsxBook, t exportTable) error {
	s, err := bk.sheet(t.name)
	if err != nil {
		return err
	}
	widths := make([]float64, len(t.header))
	for i, h := range t.header {
		widths[i] = float64(len(h)) + 4
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], min(displayWidth(c)+2, 60))
			}
		}
	}
	if err := s.begin(widths, t.header, 0, func(int) bool { return false }); err != nil {
		return err
	}
	for i, r := range t.rows {
		fill := fillNone
		if i < len(t.fills) {
			fill = t.fills[i]
		}
		if err := s.write(r, fill, -1); err != nil {
			return err
		}
	}
	if len(t.rows) == 0 && t.empty != "" {
		if err := s.write([]outCell{textCell(t.empty)}, fillNone, -1); err != nil {
			return err
		}
	}
	return s.finish(len(t.rows) > 0)
}
