package xlsxread

import (
	"bytes"
	"io"
	"testing"
)

// FuzzXLSXScanRows feeds arbitrary worksheet XML to the byte-level scanner:
// an uploaded workbook (the console takes them from anyone signed in) must
// give rows or an error, never a panic or a loop.
func FuzzXLSXScanRows(f *testing.F) {
	for _, s := range []string{
		`<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>`,
		`<worksheet><sheetData><row r="2"><c r="C2"><f>A1+1</f><v>3</v></c><c r="AA2" t="b"><v>1</v></c></row><row r="5"/></sheetData></worksheet>`,
		`<sheetData><row><c><v>1.5E+3</v></c></row>`,
		`<?xml version="1.0"?><!-- c --><worksheet><sheetData><row r="1"><c r="A1" t="str"><v><![CDATA[a<b]]></v></c></row></sheetData></worksheet>`,
		`<row r="99999999"><c r="XFE1"/></row>`,
	} {
		f.Add([]byte(s))
	}
	sst, err := readSharedStrings(bytes.NewReader([]byte(`<sst><si><t>shared</t></si></sst>`)), 0, "xl/sharedStrings.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newScanRows(io.NopCloser(bytes.NewReader(b)), sst)
		for i := 0; i < len(b)+2; i++ { // a row consumes input, so this bounds a loop
			if _, _, err := s.next(); err != nil {
				return
			}
		}
		t.Fatalf("scanner returned more rows than the input has bytes")
	})
}

// FuzzXLSXSharedStrings feeds arbitrary shared-strings XML to its reader.
func FuzzXLSXSharedStrings(f *testing.F) {
	f.Add([]byte(`<sst count="2"><si><t>a</t></si><si><r><t>b</t></r><r><t xml:space="preserve"> c</t></r></si></sst>`))
	f.Add([]byte(`<sst><si><t/></si><si><phoneticPr/></si></sst>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sst, err := readSharedStrings(bytes.NewReader(b), uint64(len(b)), "xl/sharedStrings.xml")
		if err != nil {
			return
		}
		for i := 0; i < sst.len(); i++ {
			_ = sst.at(i)
		}
	})
}
