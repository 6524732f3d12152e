package xlsxread

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// xlsxPackage is the zip of an XLSX workbook, read directly: the workbook
// part for the sheet list and the 1904 flag, its relationships for where
// each sheet and the shared strings live. excelize.OpenFile instead reads
// every part up front and, for a big sheet, first unzips it to a temporary
// file; a payout sheet only needs one worksheet streamed once.
type xlsxPackage struct {
	zr       *zip.ReadCloser
	parts    map[string]*zip.File // by lower-case name: Excel's names differ in case between writers
	sheets   []xlsxSheetRef
	sstPath  string
	date1904 bool
	// styles is the number format code of each cell style (cellXfs), read
	// on open; nil when the workbook has none or they cannot be read.
	styles []string
}

// xlsxSheetRef is one sheet of the workbook, in tab order.
type xlsxSheetRef struct {
	name    string
	visible bool
	part    string // "" when its part is missing
}

// What the parts of an XLSX may inflate to. A zip bomb (1 MB on disk,
// gigabytes unpacked) is refused with ErrWorkbookTooLarge when a part
// reaches its cap, whatever sizes the zip declares: every part is read
// through partReader, which counts what it really inflated. The caps are
// far above a payout sheet's: Excel's 1,048,576 rows of ids, names and
// e-mails make a shared strings table of about 100 MB.
const (
	// maxWorksheetInflated bounds a worksheet part. Its rows stream, so
	// this bounds the time spent, not memory.
	maxWorksheetInflated = 2 << 30
	// maxSharedStringsInflated bounds the shared strings part, which is
	// read whole into a table held while the rows stream.
	maxSharedStringsInflated = 256 << 20
	// maxSharedStringsText bounds the text that table holds.
	maxSharedStringsText = 128 << 20
	// maxSharedStrings bounds its number of strings (4 bytes each): empty
	// strings add no text, and 50 million of them fit in the part.
	maxSharedStrings = 1 << 24
	// maxOtherPartInflated bounds every other part (the workbook, its
	// relationships; in excelize's reading, styles, themes, pictures).
	maxOtherPartInflated = 64 << 20
)

// errTooLarge is the ErrWorkbookTooLarge of part name, over limit bytes.
func errTooLarge(name string, limit int64, what string) error {
	return fmt.Errorf("%w: %s %s is over %d MB; a payout sheet is far smaller (split it, or save it again from Excel)", ErrWorkbookTooLarge, what, name, limit>>20)
}

// partReader inflates one part and fails with ErrWorkbookTooLarge past
// limit bytes. It counts what the decompressor gives, so a zip that
// understates a part's size cannot get past it.
type partReader struct {
	rc    io.ReadCloser
	name  string
	left  int64
	limit int64
}

func (p *partReader) Read(b []byte) (int, error) {
	if p.left <= 0 {
		// At the cap: one more byte means too large, none means done.
		var one [1]byte
		n, err := p.rc.Read(one[:])
		if n > 0 {
			return 0, errTooLarge(p.name, p.limit, "part")
		}
		return 0, err
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, err := p.rc.Read(b)
	p.left -= int64(n)
	return n, err
}

func (p *partReader) Close() error { return p.rc.Close() }

// openPart starts inflating f, the part called name, up to limit bytes. A
// part whose declared size is already over the limit is refused without
// inflating anything: archive/zip fails a part that inflates past its
// declared size, so the declared size is an upper bound worth refusing on
// (never one to size a buffer by: it may overstate).
func openPart(f *zip.File, name string, limit int64) (io.ReadCloser, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, errTooLarge(name, limit, "part")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	return &partReader{rc: rc, name: name, left: limit, limit: limit}, nil
}

// partLimit is the cap on the part called name, by what it is.
func partLimit(name string) int64 {
	lower := strings.ToLower(name)
	switch {
	case strings.Contains(lower, "sharedstrings"):
		return maxSharedStringsInflated
	case strings.Contains(lower, "worksheets/"):
		return maxWorksheetInflated
	}
	return maxOtherPartInflated
}

// checkDeclaredSizes refuses, before excelize reads a package, any part
// declared larger than its cap. excelize reads every part but the big
// worksheets into memory, into buffers sized from the declared size, and
// checks only the declared total; archive/zip holds each part to its
// declared size, so checking it here bounds what excelize inflates.
func checkDeclaredSizes(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return fmt.Errorf("open workbook: %w", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if limit := partLimit(f.Name); f.UncompressedSize64 > uint64(limit) {
			return fmt.Errorf("open workbook: %w", errTooLarge(f.Name, limit, "part"))
		}
	}
	return nil
}

// errNotStandardXLSX means the package does not have the parts where a
// standard workbook keeps them; the caller falls back to excelize.
var errNotStandardXLSX = errors.New("not a standard xlsx package")

// openXLSXPackage opens the zip and reads the workbook's sheet list.
func openXLSXPackage(filename string) (*xlsxPackage, error) {
	zr, err := zip.OpenReader(filename)
	if err != nil {
		return nil, fmt.Errorf("open workbook: %w", err)
	}
	p := &xlsxPackage{zr: zr, parts: make(map[string]*zip.File, len(zr.File))}
	for _, f := range zr.File {
		p.parts[strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/"))] = f
	}
	if err := p.readWorkbook(); err != nil {
		zr.Close()
		return nil, err
	}
	return p, nil
}

type xmlRels struct {
	Rels []struct {
		ID     string `xml:"Id,attr"`
		Type   string `xml:"Type,attr"`
		Target string `xml:"Target,attr"`
	} `xml:"Relationship"`
}

type xmlWorkbook struct {
	Pr struct {
		Date1904 string `xml:"date1904,attr"`
	} `xml:"workbookPr"`
	Sheets []struct {
		Name  string `xml:"name,attr"`
		State string `xml:"state,attr"`
		RID   string `xml:"id,attr"` // r:id; encoding/xml matches the local name
	} `xml:"sheets>sheet"`
}

func (p *xlsxPackage) readWorkbook() error {
	wbPath := "xl/workbook.xml"
	var root xmlRels
	if err := p.decodeXML("_rels/.rels", &root); err == nil {
		for _, r := range root.Rels {
			if strings.HasSuffix(r.Type, "/officeDocument") {
				wbPath = resolvePart("", r.Target)
			}
		}
	}
	var wb xmlWorkbook
	if err := p.decodeXML(wbPath, &wb); err != nil {
		return fmt.Errorf("%w: %v", errNotStandardXLSX, err)
	}
	p.date1904 = wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"
	dir := path.Dir(wbPath)
	var rels xmlRels
	if err := p.decodeXML(path.Join(dir, "_rels", path.Base(wbPath)+".rels"), &rels); err != nil {
		return fmt.Errorf("%w: %v", errNotStandardXLSX, err)
	}
	targets := map[string]string{}
	for _, r := range rels.Rels {
		target := resolvePart(dir, r.Target)
		targets[r.ID] = target
		if strings.HasSuffix(r.Type, "/styles") {
			p.styles = p.numFmtsOf(target)
		}
		if strings.HasSuffix(r.Type, "/sharedStrings") {
			p.sstPath = target
		}
	}
	if p.sstPath == "" {
		p.sstPath = path.Join(dir, "sharedStrings.xml")
	}
	for _, s := range wb.Sheets {
		ref := xlsxSheetRef{name: s.Name, visible: s.State == "" || s.State == "visible"}
		if t, ok := targets[s.RID]; ok && p.part(t) != nil {
			ref.part = t
		}
		p.sheets = append(p.sheets, ref)
	}
	return nil
}

// resolvePart turns a relationship target into a part name: relative to
// the source part's folder, or from the package root when it starts with /.
func resolvePart(dir, target string) string {
	target = strings.ReplaceAll(target, "\\", "/")
	if strings.HasPrefix(target, "/") {
		return strings.TrimPrefix(path.Clean(target), "/")
	}
	return strings.TrimPrefix(path.Clean(path.Join(dir, target)), "/")
}

func (p *xlsxPackage) part(name string) *zip.File { return p.parts[strings.ToLower(name)] }

// decodeXML unmarshals a small part (the workbook, a relationships file).
func (p *xlsxPackage) decodeXML(name string, v any) error {
	f := p.part(name)
	if f == nil {
		return fmt.Errorf("no part %s", name)
	}
	rc, err := openPart(f, name, maxOtherPartInflated)
	if err != nil {
		return err
	}
	defer rc.Close()
	return xml.NewDecoder(rc).Decode(v)
}

// sharedStrings reads the shared strings table; a workbook without one
// (every cell a number or an inline string) has an empty table.
func (p *xlsxPackage) sharedStrings() (*sharedStrings, error) {
	f := p.part(p.sstPath)
	if f == nil {
		return &sharedStrings{}, nil
	}
	rc, err := openPart(f, p.sstPath, maxSharedStringsInflated)
	if err != nil {
		return nil, fmt.Errorf("read shared strings: %w", err)
	}
	defer rc.Close()
	return readSharedStrings(rc, f.UncompressedSize64, p.sstPath)
}

// sheetNames lists every sheet, for error messages.
func (p *xlsxPackage) sheetNames() []string {
	names := make([]string, len(p.sheets))
	for i, s := range p.sheets {
		names[i] = s.name
	}
	return names
}

// openRows starts streaming the rows of a worksheet part.
func (p *xlsxPackage) openRows(ref xlsxSheetRef, sst *sharedStrings) (*scanRows, error) {
	f := p.part(ref.part)
	if f == nil {
		return nil, fmt.Errorf("%w: sheet %s has no worksheet part", errNotStandardXLSX, ref.name)
	}
	rc, err := openPart(f, ref.part, maxWorksheetInflated)
	if err != nil {
		return nil, fmt.Errorf("read worksheet %s: %w", ref.name, err)
	}
	return newScanRows(rc, sst), nil
}

func (p *xlsxPackage) close() error { return p.zr.Close() }
