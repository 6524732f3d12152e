package ingest

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

// writeFile writes content to name in a fresh temp dir and returns the path.
func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// utf16LE encodes s as UTF-16 LE with a BOM, as Excel's "Unicode text" does.
func utf16LE(s string) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xFE})
	for _, u := range utf16.Encode([]rune(s)) {
		binary.Write(&b, binary.LittleEndian, u)
	}
	return b.Bytes()
}

func utf16BE(s string) []byte {
	var b bytes.Buffer
	b.Write([]byte{0xFE, 0xFF})
	for _, u := range utf16.Encode([]rune(s)) {
		binary.Write(&b, binary.BigEndian, u)
	}
	return b.Bytes()
}

// xlsxCell is a cell for writeXLSX: a string is written as text, a num as a
// numeric cell from its decimal text, a formula with its cached value.
type (
	num     string
	formula struct{ expr, cached string }
	serial  string // a date stored as a day serial, date formatted
)

// writeXLSX writes a real workbook with excelize: rows[i] goes to sheet row
// i+1; nil rows stay blank.
func writeXLSX(t testing.TB, sheet string, rows [][]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if sheet != "Sheet1" {
		if err := f.SetSheetName("Sheet1", sheet); err != nil {
			t.Fatal(err)
		}
	}
	dateStyle, _ := f.NewStyle(&excelize.Style{NumFmt: 22})
	for r, cells := range rows {
		for c, v := range cells {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			var err error
			switch v := v.(type) {
			case nil:
			case string:
				err = f.SetCellStr(sheet, cell, v)
			case num:
				err = f.SetCellDefault(sheet, cell, string(v))
			case serial:
				err = f.SetCellDefault(sheet, cell, string(v))
				f.SetCellStyle(sheet, cell, cell, dateStyle)
			case formula:
				// An empty cached value is a formula never calculated, as
				// programs that write workbooks leave it.
				if v.cached != "" {
					err = setCachedValue(f, sheet, cell, v.cached)
				}
				if err == nil {
					err = f.SetCellFormula(sheet, cell, v.expr)
				}
			default:
				t.Fatalf("writeXLSX: unsupported cell %T", v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	p := filepath.Join(t.TempDir(), "sheet.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// setCachedValue stores a formula's last computed value, as Excel does on
// save; excelize's SetCellFormula leaves it empty.
func setCachedValue(f *excelize.File, sheet, cell, v string) error {
	// SetCellDefault replaces the value but keeps the formula.
	return f.SetCellDefault(sheet, cell, v)
}

// csvText joins lines with CRLF as Excel writes them.
func csvText(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

func mustReadAll(t testing.TB, path string, opts IngestOptions) *Sheet {
	t.Helper()
	s, err := ReadAll(path, opts)
	if err != nil {
		t.Fatalf("ReadAll(%s): %v", filepath.Base(path), err)
	}
	return s
}
