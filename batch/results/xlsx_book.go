package results

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// xlsxBook is a workbook being written, with its cell styles.
type xlsxBook struct {
	f      *excelize.File
	styles map[styleKey]int
	rows   map[string]*rowEncoder // data rows, by the part of their sheet
}

// newXLSXBook starts an empty workbook; Close it when done.
func newXLSXBook() *xlsxBook {
	return &xlsxBook{f: excelize.NewFile(), styles: make(map[styleKey]int), rows: make(map[string]*rowEncoder)}
}

// Close removes the temp files of the stream writers and row encoders.
func (b *xlsxBook) Close() error {
	errs := []error{b.f.Close()}
	for _, e := range b.rows {
		errs = append(errs, e.Close())
	}
	return errors.Join(errs...)
}

// writeTo zips the finished workbook into w.
func (b *xlsxBook) writeTo(w io.Writer) error {
	// excelize zips the whole workbook into memory before writing it out;
	// for a million rows that is hundreds of megabytes. Handing it a zip
	// writer that writes straight to w keeps memory flat: its own buffer
	// stays empty. The same writer splices in the data rows the row
	// encoders compressed (xlsx_splice.go).
	b.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return newSplicingZip(w, b.rows) })
	if _, err := b.f.WriteTo(io.Discard); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

// partName is the zip part that holds sheet name.
func (b *xlsxBook) partName(name string) (string, error) {
	for id, n := range b.f.GetSheetMap() {
		if n == name {
			// excelize names a new sheet's part by its sheet ID.
			return fmt.Sprintf("xl/worksheets/sheet%d.xml", id), nil
		}
	}
	return "", fmt.Errorf("find part of sheet %s: no such sheet", name)
}

// styleKey identifies one cell style: its type, currency, fill and weight.
type styleKey struct {
	kind outKind
	cur  string
	fill RowFill
	role styleRole
	wrap bool
}

// styleRole separates data cells from headings.
type styleRole uint8

const (
	roleData styleRole = iota
	roleBold
	roleTitle
	roleHeadInput  // header of a column copied from the sheet
	roleHeadResult // header of a column payrun adds
	roleValue      // the value of a Summary "label: value" line, left-aligned
)

// Fill colours: Excel's own "Good", "Neutral" and "Bad" cell styles, which
// finance already reads as green, amber and red.
var fillColors = map[RowFill]string{FillGreen: "C6EFCE", FillAmber: "FFEB9C", FillRed: "FFC7CE"}

// style returns the style ID for k, creating it once.
func (b *xlsxBook) style(k styleKey) (int, error) {
	if id, ok := b.styles[k]; ok {
		return id, nil
	}
	st := &excelize.Style{Font: &excelize.Font{Family: "Calibri", Size: 11}}
	if c, ok := fillColors[k.fill]; ok {
		st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c}}
	}
	switch k.role {
	case roleBold:
		st.Font.Bold = true
	case roleTitle:
		st.Font.Bold, st.Font.Size = true, 14
	case roleHeadInput:
		st.Font.Bold = true
		st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9D9D9"}}
		st.Border = []excelize.Border{{Type: "bottom", Color: "808080", Style: 1}}
	case roleHeadResult:
		st.Font.Bold, st.Font.Color = true, "FFFFFF"
		st.Fill = excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}}
		st.Border = []excelize.Border{{Type: "bottom", Color: "808080", Style: 1}}
	}
	// Numbers sit right with a one-character indent, so a right-aligned
	// amount never runs into the text of the column after it.
	right := &excelize.Alignment{Horizontal: "right", Indent: 1}
	switch k.kind {
	case cellAmount:
		st.CustomNumFmt, st.Alignment = ptr(amountFormat(k.cur)), right
	case cellRate:
		st.CustomNumFmt, st.Alignment = ptr("#,##0.00######"), right
	case cellDate:
		st.CustomNumFmt, st.Alignment = ptr(DateFormat), right
	case cellInt:
		st.NumFmt, st.Alignment = 1, &excelize.Alignment{Horizontal: "center"} // 0
	case cellNumber:
		st.CustomNumFmt, st.Alignment = ptr(k.cur), right
	case cellLink:
		st.Font.Color, st.Font.Underline = "0563C1", "single"
		st.Alignment = &excelize.Alignment{Horizontal: "left", Indent: 1}
	case cellText:
		st.NumFmt = 49 // @: typing into the cell keeps it text
		st.Alignment = &excelize.Alignment{Horizontal: "left", Indent: 1}
	}
	if k.role == roleValue {
		st.Alignment = &excelize.Alignment{Horizontal: "left"}
	}
	if k.wrap && st.Alignment != nil {
		st.Alignment.WrapText = true
	}
	if k.role == roleData || k.role == roleBold {
		// A row made tall by a wrapped text reads from the top, every
		// cell of it: bottom-aligned, the id sat lines below its action.
		if st.Alignment == nil {
			st.Alignment = &excelize.Alignment{}
		}
		st.Alignment.Vertical = "top"
	}
	id, err := b.f.NewStyle(st)
	if err != nil {
		return 0, fmt.Errorf("add cell style: %w", err)
	}
	b.styles[k] = id
	return id, nil
}

// DateFormat is the number format of dates in the results: ISO order, so no
// reader mistakes 03/04 for the wrong month, and marked UTC.
const DateFormat = `yyyy-mm-dd hh:mm "UTC"`

// amountFormat is the number format of an amount in cur: thousands
// separators, the currency's decimals (USD 2, JPY 0, BTC 8), and its code.
func amountFormat(cur string) string {
	f := "#,##0"
	if d := currencyDecimals(cur); d > 0 {
		f += "." + strings.Repeat("0", int(d))
	}
	if cur != "" && isPlainCode(cur) {
		f += ` "` + cur + `"`
	}
	return f
}

// isPlainCode reports whether cur is safe inside a number format.
func isPlainCode(cur string) bool {
	if len(cur) > 8 {
		return false
	}
	for i := 0; i < len(cur); i++ {
		if c := cur[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

// xlsxSheet is one streamed sheet of the workbook. The header row and the
// Summary lines go through excelize's StreamWriter; data rows go through a
// rowEncoder, spliced in after the header when the workbook is zipped.
type xlsxSheet struct {
	bk    *xlsxBook
	name  string
	sw    *excelize.StreamWriter
	enc   *rowEncoder // created by the first data row
	row   int         // the last row written
	ncols int
	links int
	raw   []rawCell
	// wrap marks the columns whose long text (actions, links, errors)
	// wraps inside the column instead of running off the printed page.
	wrap      map[int]bool
	skipWidth []int     // columns left at the default width
	widths    []float64 // the column widths begin set
}

func (b *xlsxBook) sheet(name string) (*xlsxSheet, error) {
	sw, err := b.f.NewStreamWriter(name)
	if err != nil {
		return nil, fmt.Errorf("stream sheet %s: %w", name, err)
	}
	return &xlsxSheet{bk: b, name: name, sw: sw}, nil
}

// maxSizedInputColumns is how many of the sheet's own columns get a width
// of their own; the ones after them keep the default width (payrun's own
// columns are always sized). excelize's SetColWidth copies every column set
// so far, one reflective copy each, on every call: sizing the 16,000
// columns of a very wide sheet one by one took hours after the payments.
const maxSizedInputColumns = 256

// allInput gives every column the header of a sheet's own column.
func allInput(int) bool { return true }

// begin sizes the columns, freezes the header row and the first
// frozenCols columns, and writes the header; a column isInput says is the
// sheet's own and gets the lighter header, the others are payrun's.
func (s *xlsxSheet) begin(widths []float64, header []string, frozenCols int, isInput func(i int) bool) error {
	// From the last column to the first: excelize puts each call's column
	// before those set earlier, so the <col> elements come out ascending.
	// Past the first maxSizedInputColumns of the sheet's own columns, they
	// keep the default width.
	sized := 0
	for i := range widths {
		if isInput(i) {
			sized++
			if sized > maxSizedInputColumns {
				s.skipWidth = append(s.skipWidth, i)
			}
		}
	}
	skip := make(map[int]bool, len(s.skipWidth))
	for _, i := range s.skipWidth {
		skip[i] = true
	}
	for i := len(widths) - 1; i >= 0; i-- {
		if skip[i] {
			continue
		}
		if err := s.sw.SetColWidth(i+1, i+1, widths[i]); err != nil {
			return fmt.Errorf("size column of %s: %w", s.name, err)
		}
	}
	panes := &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}
	if frozenCols > 0 {
		// The id stays in sight while scrolling right through forty columns.
		tl, _ := excelize.CoordinatesToCellName(frozenCols+1, 2)
		panes = &excelize.Panes{Freeze: true, XSplit: frozenCols, YSplit: 1, TopLeftCell: tl, ActivePane: "bottomRight",
			Selection: []excelize.Selection{{SQRef: tl, ActiveCell: tl, Pane: "bottomRight"}}}
	}
	if err := s.sw.SetPanes(panes); err != nil {
		return fmt.Errorf("freeze header of %s: %w", s.name, err)
	}
	s.ncols, s.widths = len(header), widths
	vals := make([]any, len(header))
	for i, h := range header {
		role := roleHeadResult
		if isInput(i) {
			role = roleHeadInput
		}
		id, err := s.bk.style(styleKey{kind: cellText, role: role})
		if err != nil {
			return err
		}
		vals[i] = excelize.Cell{StyleID: id, Value: InertText(h)}
	}
	s.row = 1
	if err := s.sw.SetRow("A1", vals, excelize.RowOpts{Height: 18}); err != nil {
		return fmt.Errorf("write header of %s: %w", s.name, err)
	}
	return nil
}

// write streams one data row, filled by fill; the cell at boldCol (if any)
// is bold, so the result word stands out.
func (s *xlsxSheet) write(cells []Cell, fill RowFill, boldCol int) error {
	return s.put(cells, func(i int, c Cell) (styleKey, bool) {
		if c.kind == cellEmpty && fill == FillNone {
			return styleKey{}, false
		}
		role := roleData
		if i == boldCol {
			role = roleBold
		}
		return styleKey{kind: c.kind, cur: c.cur, fill: fill, role: role, wrap: s.wrap[i]}, true
	})
}

// writeLine streams one Summary line.
func (s *xlsxSheet) writeLine(l summaryLine) error {
	return s.put(l.cells, func(i int, c Cell) (styleKey, bool) {
		role := roleData
		switch {
		case l.style == lineTitle:
			role = roleTitle
		case l.style == lineHeader:
			role = roleHeadResult
		case l.style == lineLabel && i == 0:
			role = roleBold
		case l.style == lineLabel:
			role = roleValue
		}
		if c.kind == cellEmpty && l.fill == FillNone && (role == roleData || role == roleValue) {
			return styleKey{}, false
		}
		return styleKey{kind: c.kind, cur: c.cur, fill: l.fill, role: role}, true
	})
}

// put writes the next row of the sheet; styleOf gives each cell's style, or
// false to leave an empty cell out. Links past the sheet's limit are
// written as text.
func (s *xlsxSheet) put(cells []Cell, styleOf func(i int, c Cell) (styleKey, bool)) error {
	if s.enc == nil {
		part, err := s.bk.partName(s.name)
		if err != nil {
			return err
		}
		if s.enc, err = newRowEncoder(""); err != nil {
			return err
		}
		s.bk.rows[part] = s.enc
	}
	s.row++
	raw := s.raw[:0]
	var linkCols []int
	for i, c := range cells {
		if c.kind == cellLink && s.links+len(linkCols) >= maxSheetLinks {
			c.kind = cellText
		}
		k, ok := styleOf(i, c)
		if !ok {
			raw = append(raw, rawCell{omit: true})
			continue
		}
		id, err := s.bk.style(k)
		if err != nil {
			return err
		}
		raw = append(raw, rawCell{style: id, cell: c})
		if c.kind == cellLink {
			linkCols = append(linkCols, i)
		}
	}
	s.raw = raw
	s.enc.rowHeight(s.row, raw, s.wrappedHeight(cells))
	for _, i := range linkCols {
		ref, _ := excelize.CoordinatesToCellName(i+1, s.row)
		tip := "Open the link"
		if err := s.bk.f.SetCellHyperLink(s.name, ref, cells[i].text, "External", excelize.HyperlinkOpts{Tooltip: &tip}); err != nil {
			return fmt.Errorf("link %s of %s: %w", ref, s.name, err)
		}
		s.links++
	}
	return nil
}

// lineHeight is the height in points of one line of 11-point Calibri.
const lineHeight = 15

// maxWrappedLines bounds the height of a row with wrapped text: a long
// error still shows its start, and one row never takes a printed page.
const maxWrappedLines = 8

// wrappedHeight is the height a row needs for its wrapped cells to show in
// full, or 0 for the default height. Spreadsheets do not all size a row to
// wrapped text on opening (LibreOffice prints it over the next row), so
// the height is written with the row.
func (s *xlsxSheet) wrappedHeight(cells []Cell) float64 {
	lines := 1
	for i, c := range cells {
		if !s.wrap[i] || i >= len(s.widths) || (c.kind != cellText && c.kind != cellLink) {
			continue
		}
		// A line holds about a character per unit of width, less the
		// indent; words wrap early, so a tenth more.
		per := max(s.widths[i]-2, 4)
		n := int(math.Ceil(float64(utf8.RuneCountInString(c.text)) * 1.1 / per))
		lines = max(lines, min(n, maxWrappedLines))
	}
	if lines == 1 {
		return 0
	}
	return float64(lines * lineHeight)
}

// finish turns the filter on over everything written and ends the stream.
func (s *xlsxSheet) finish(autofilter bool) error {
	if autofilter && s.ncols > 0 && s.row > 1 {
		last, _ := excelize.CoordinatesToCellName(s.ncols, s.row)
		if err := s.bk.f.AutoFilter(s.name, "A1:"+last, nil); err != nil {
			return fmt.Errorf("filter %s: %w", s.name, err)
		}
	}
	if s.enc != nil {
		if err := s.enc.finish(); err != nil {
			return fmt.Errorf("finish sheet %s: %w", s.name, err)
		}
	}
	if err := s.sw.Flush(); err != nil {
		return fmt.Errorf("finish sheet %s: %w", s.name, err)
	}
	return nil
}
