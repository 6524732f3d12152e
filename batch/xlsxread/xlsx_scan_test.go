package xlsxread

import (
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// readRaw reads every row of a source as (line, cells) pairs, blank rows
// left out (the two readers differ only in whether they return them).
func readRaw(t *testing.T, s *Worksheet) []string {
	t.Helper()
	defer s.Close()
	var out []string
	for {
		line, cells, err := s.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		if blank(cells) {
			continue
		}
		out = append(out, fmt.Sprintf("%d:%q", line, cells))
	}
}

// assertSameAsExcelize opens path with both readers and requires the same
// sheet, the same date system and the same rows, cell for cell.
func AssertSameAsExcelize(t *testing.T, path, sheet string) []string {
	t.Helper()
	fast, err := openXLSXScan(path, sheet)
	if err != nil {
		t.Fatalf("scan reader: %v", err)
	}
	ref, err := OpenExcelize(path, sheet)
	if err != nil {
		t.Fatalf("excelize reader: %v", err)
	}
	if fast.Name != ref.Name || fast.Date1904 != ref.Date1904 {
		t.Errorf("sheet %q 1904 %v, excelize: %q %v", fast.Name, fast.Date1904, ref.Name, ref.Date1904)
	}
	got, want := readRaw(t, fast), readRaw(t, ref)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("scan reader and excelize differ on %s\nscan:     %v\nexcelize: %v", filepath.Base(path), got, want)
	}
	return got
}

// TestXLSXScanMatchesExcelize holds the streaming scanner to excelize's
// reading of every kind of cell a workbook written by excelize can hold.
func TestXLSXScanMatchesExcelize(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetCellStr("Sheet1", "B2", "client_transfer_id"))
	must(f.SetCellStr("Sheet1", "C2", "  spaced & <escaped> \"quoted\" 'apos'  "))
	must(f.SetCellStr("Sheet1", "D2", "line one\r\nline two\rthree")) // written as &#xD;: kept
	// excelize writes a control character as U+FFFD and reads _xHHHH_ as
	// the character it escapes.
	must(f.SetCellStr("Sheet1", "E2", "tab\there, ctrl \x01 and _x0041_ literal"))
	must(f.SetCellStr("Sheet1", "F2", "Zoë 東京 🙂"))
	must(f.SetCellDefault("Sheet1", "G2", "inline text")) // an inline string
	must(f.SetCellValue("Sheet1", "A3", 1234.5))
	must(f.SetCellDefault("Sheet1", "B3", "0.30000000000000004"))
	must(f.SetCellValue("Sheet1", "C3", true))
	must(f.SetCellValue("Sheet1", "D3", int64(-42)))
	must(f.SetCellDefault("Sheet1", "E3", "5E-2"))
	must(f.SetCellFormula("Sheet1", "F3", "=A3*2")) // no cached value: kept as ""
	must(f.SetCellFormula("Sheet1", "G3", "=A3+1"))
	must(f.SetCellDefault("Sheet1", "G3", "1235.5"))
	must(f.SetCellFormula("Sheet1", "H3", `="a"&"b"`))
	must(f.SetCellStr("Sheet1", "H3", "ab"))
	must(f.SetCellRichText("Sheet1", "A5", []excelize.RichTextRun{
		{Text: "bold ", Font: &excelize.Font{Bold: true}}, {Text: "and plain"},
	}))
	style, err := f.NewStyle(&excelize.Style{Fill: excelize.Fill{Type: "pattern", Color: []string{"FFFF00"}, Pattern: 1}})
	must(err)
	must(f.SetCellStyle("Sheet1", "A7", "D7", style)) // styled but empty: a blank row
	must(f.SetCellStr("Sheet1", "AB9", "far right"))
	must(f.SetCellStr("Sheet1", "A5000", "last row"))
	must(f.SetCellStr("Sheet1", "C11", ""))
	path := filepath.Join(t.TempDir(), "kinds.xlsx")
	must(f.SaveAs(path))

	got := AssertSameAsExcelize(t, path, "")
	// Spot checks, so a shared mistake in both readers still fails.
	want := []string{
		`2:["" "client_transfer_id" "  spaced & <escaped> \"quoted\" 'apos'  " "line one\r\nline two\rthree" "tab\there, ctrl � and A literal" "Zoë 東京 🙂" "inline text"]`,
		`3:["1234.5" "0.30000000000000004" "1" "-42" "5E-2" "" "1235.5" "ab"]`,
		`5:["bold and plain"]`,
	}
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			t.Errorf("row %d = %v, want %s", i, got[min(i, len(got)-1)], w)
		}
	}
	if n := len(got); n != 5 || !strings.HasPrefix(got[n-1], "5000:") {
		t.Errorf("rows = %v", got)
	}
}

// TestXLSXScanStreamWriter reads a workbook from excelize's stream writer,
// the shape big generated sheets have (inline strings, no shared table).
func TestXLSXScanStreamWriter(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for r := 1; r <= 300; r++ {
		var row []any
		for c := 0; c < rng.IntN(12); c++ {
			switch rng.IntN(6) {
			case 0:
				row = append(row, nil)
			case 1:
				row = append(row, rng.Float64()*1e6)
			case 2:
				row = append(row, fmt.Sprintf("text %d <&> %c", rng.IntN(1000), rune(0x20+rng.IntN(0x2000))))
			case 3:
				row = append(row, excelize.Cell{Formula: "=1+1", Value: 2})
			case 4:
				row = append(row, rng.IntN(2) == 0)
			default:
				row = append(row, "")
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, r*2) // every other row left out
		if err := sw.SetRow(cell, row); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stream.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	if got := AssertSameAsExcelize(t, path, ""); len(got) < 200 {
		t.Errorf("only %d non-blank rows read", len(got))
	}
}

// TestXLSXScanErrors: a worksheet cut short or with a bad cell reference
// is an error, not silently fewer rows.
func TestXLSXScanErrors(t *testing.T) {
	for name, xml := range map[string]string{
		"cut":     `<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>client`,
		"bad ref": `<worksheet><sheetData><row r="1"><c r="1A"><v>1</v></c></row></sheetData></worksheet>`,
		"too far": `<worksheet><sheetData><row r="1048577"><c><v>1</v></c></row></sheetData></worksheet>`,
	} {
		rows := newScanRows(io.NopCloser(strings.NewReader(xml)), &sharedStrings{})
		_, _, err := rows.next()
		if err == nil || err == io.EOF {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestXMLScannerSmallReads feeds the scanner one byte at a time, so every
// token straddles a buffer refill.
func TestXMLScannerSmallReads(t *testing.T) {
	doc := `<?xml version="1.0"?><!-- c --><sst uniqueCount="3"><si><t xml:space="preserve"> a&amp;b&#x41;&#66;&lt; </t></si>` +
		`<si><r><rPr><b/></rPr><t>x</t></r><r><t>y</t></r><rPh><t>skip</t></rPh></si><si><t><![CDATA[<raw&>]]></t></si><si/></sst>`
	sst, err := readSharedStrings(oneByteReader{strings.NewReader(doc)}, 0, "xl/sharedStrings.xml")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range sst.len() {
		got = append(got, sst.at(i))
	}
	if want := []string{" a&bAB< ", "xy", "<raw&>", ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("strings = %q, want %q", got, want)
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(1, len(p))]) }
