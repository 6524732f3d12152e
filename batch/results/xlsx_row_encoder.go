package results

import (
	"bufio"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// The data rows of the results sheets do not go through excelize's
// StreamWriter. For a million rows its per-cell work (a reference name, a
// value conversion and an escape per cell, all allocating) took three times
// as long as everything else together. rowEncoder writes the same <row>
// elements straight into a byte buffer, and a second goroutine deflates them
// into a temp file while the next rows are built, so the two cores share the
// work. When the workbook is zipped, splicingZip puts those compressed rows
// into the sheet's part, between the header row excelize wrote and the
// closing </sheetData>. Everything else in the workbook (styles, header,
// panes, widths, filter, hyperlinks, print setup, the other parts) is
// excelize's.

// rowChunk is how many bytes of XML the encoder hands to the compressor at a
// time: large enough that the handoff costs nothing, small enough that three
// of them are a rounding error in memory.
const rowChunk = 256 << 10

// maxCellChars is the most characters a cell holds; Excel refuses longer.
const maxCellChars = excelize.TotalCellChars

// rowEncoder builds the <row> elements of one sheet and deflates them into a
// temp file. Its output is a run of deflate blocks that ends in a sync flush
// and no final block, so it can sit between two other deflate segments.
type rowEncoder struct {
	buf  []byte
	refs []string // column letters, by index

	tmp  *os.File
	work chan []byte
	free chan []byte
	done chan struct{}
	err  error // the compressor's error; read only after done is closed

	crc  uint32 // of the uncompressed XML
	size int64  // uncompressed bytes
	zlen int64  // compressed bytes in tmp
}

// newRowEncoder starts an encoder whose compressed rows go to a temp file in
// dir ("" for the system's).
func newRowEncoder(dir string) (*rowEncoder, error) {
	tmp, err := os.CreateTemp(dir, "payrun-rows-*.deflate")
	if err != nil {
		return nil, fmt.Errorf("create rows temp file: %w", err)
	}
	e := &rowEncoder{
		buf:  make([]byte, 0, rowChunk+4096),
		tmp:  tmp,
		work: make(chan []byte, 1),
		free: make(chan []byte, 2),
		done: make(chan struct{}),
	}
	go e.compress(e.work)
	return e, nil
}

// compress deflates every chunk the encoder hands over on work, in order.
func (e *rowEncoder) compress(work <-chan []byte) {
	defer close(e.done)
	cw := &countingWriter{w: bufio.NewWriterSize(e.tmp, 1<<20)}
	// BestSpeed: at the default level a million rows spend as long
	// compressing as building the XML, for a file only a little smaller.
	fw, _ := flate.NewWriter(cw, flate.BestSpeed)
	for b := range work {
		if e.err == nil {
			e.crc = crc32.Update(e.crc, crc32.IEEETable, b)
			e.size += int64(len(b))
			if _, err := fw.Write(b); err != nil {
				e.err = fmt.Errorf("compress rows: %w", err)
			}
		}
		e.free <- b[:0]
	}
	if e.err != nil {
		return
	}
	// Flush, not Close: a sync flush ends on a byte boundary without a final
	// block, so the sheet's closing XML can follow as another segment.
	if err := fw.Flush(); err != nil {
		e.err = fmt.Errorf("compress rows: %w", err)
		return
	}
	if err := cw.w.(*bufio.Writer).Flush(); err != nil {
		e.err = fmt.Errorf("write rows temp file: %w", err)
		return
	}
	e.zlen = cw.n
}

// countingWriter counts what passes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// handOff passes the buffer to the compressor once it is full enough.
func (e *rowEncoder) handOff(force bool) {
	if len(e.buf) < rowChunk && !force {
		return
	}
	e.work <- e.buf
	select {
	case b := <-e.free:
		e.buf = b
	default:
		e.buf = make([]byte, 0, rowChunk+4096)
	}
}

// finish hands over the last rows and waits for the compressor.
func (e *rowEncoder) finish() error {
	if e.work == nil {
		return e.err
	}
	if len(e.buf) > 0 {
		e.handOff(true)
	}
	close(e.work)
	e.work = nil
	<-e.done
	return e.err
}

// Close stops the compressor and removes the temp file.
func (e *rowEncoder) Close() error {
	if e.work != nil {
		close(e.work)
		e.work = nil
		<-e.done
	}
	if e.tmp == nil {
		return nil
	}
	err := errors.Join(e.tmp.Close(), os.Remove(e.tmp.Name()))
	e.tmp = nil
	return err
}

// compressed returns a reader of the deflated rows.
func (e *rowEncoder) compressed() (io.Reader, error) {
	if _, err := e.tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read rows temp file: %w", err)
	}
	return io.LimitReader(bufio.NewReaderSize(e.tmp, 1<<20), e.zlen), nil
}

// colRef is the letters of column i (0-based).
func (e *rowEncoder) colRef(i int) string {
	for len(e.refs) <= i {
		name, _ := excelize.ColumnNumberToName(len(e.refs) + 1)
		e.refs = append(e.refs, name)
	}
	return e.refs[i]
}

// rawCell is one cell as the encoder writes it: a style and a typed value.
type rawCell struct {
	style int
	cell  Cell
	omit  bool // no <c> at all: an empty, unstyled cell
}

// rowHeight appends row r with cells to the sheet, ht points high (0: the
// default height).
func (e *rowEncoder) rowHeight(r int, cells []rawCell, ht float64) {
	b := e.buf
	var rb [20]byte
	rs := strconv.AppendInt(rb[:0], int64(r), 10)
	b = append(b, `<row r="`...)
	b = append(b, rs...)
	if ht > 0 {
		b = append(b, `" ht="`...)
		b = strconv.AppendFloat(b, ht, 'f', -1, 64)
		b = append(b, `" customHeight="1`...)
	}
	b = append(b, `">`...)
	for i := range cells {
		c := &cells[i]
		if c.omit {
			continue
		}
		b = append(b, `<c r="`...)
		b = append(b, e.colRef(i)...)
		b = append(b, rs...)
		b = append(b, '"')
		if c.style != 0 {
			b = append(b, ` s="`...)
			b = strconv.AppendInt(b, int64(c.style), 10)
			b = append(b, '"')
		}
		b = appendCellValue(b, &c.cell)
	}
	b = append(b, `</row>`...)
	e.buf = b
	e.handOff(false)
}

// appendCellValue appends the rest of a <c> element, from after its
// attributes to its end, for c.
func appendCellValue(b []byte, c *Cell) []byte {
	switch c.kind {
	case cellText, cellLink:
		s := c.text
		if c.kind == cellLink && c.label != "" {
			s = c.label
		}
		return appendInlineString(b, InertText(s))
	case cellAmount, cellRate, cellNumber:
		// The decimal as written, not a float64's rendering of it: the cell
		// holds exactly the amount the ledger holds.
		b = append(b, `><v>`...)
		b = append(b, c.num.String()...)
		return append(b, `</v></c>`...)
	case cellDate:
		b = append(b, `><v>`...)
		b = strconv.AppendFloat(b, excelSerial(c.at), 'f', -1, 64)
		return append(b, `</v></c>`...)
	case cellInt:
		b = append(b, `><v>`...)
		b = strconv.AppendInt(b, c.n, 10)
		return append(b, `</v></c>`...)
	}
	return append(b, `/>`...)
}

// appendInlineString appends an inline string cell's type and value.
func appendInlineString(b []byte, s string) []byte {
	// A string of no more bytes than the limit has no more characters:
	// most cells skip the count.
	if len(s) > maxCellChars && utf8.RuneCountInString(s) > maxCellChars {
		s = truncateRunes(s, maxCellChars)
	}
	b = append(b, ` t="inlineStr"><is><t`...)
	if s != "" && (xmlSpace(s[0]) || xmlSpace(s[len(s)-1])) {
		b = append(b, ` xml:space="preserve"`...)
	}
	b = append(b, '>')
	b = appendEscaped(b, s)
	return append(b, `</t></is></c>`...)
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// appendEscaped appends s as XML character data. Characters XML cannot carry
// at all (most control characters, broken UTF-8) become U+FFFD, as
// encoding/xml does.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '<' && c != '>' && c != '&' {
			i++
			continue
		}
		var esc string
		width := 1
		switch {
		case c == '<':
			esc = "&lt;"
		case c == '>':
			esc = "&gt;"
		case c == '&':
			esc = "&amp;"
		case c == '\t':
			esc = "&#x9;"
		case c == '\n':
			esc = "&#xA;"
		case c == '\r':
			esc = "&#xD;"
		case c < 0x20:
			esc = "\uFFFD"
		default:
			r, w := utf8.DecodeRuneInString(s[i:])
			width = w
			if r != utf8.RuneError || w != 1 {
				if isXMLChar(r) {
					i += w
					continue
				}
			}
			esc = "\uFFFD"
		}
		b = append(b, s[start:i]...)
		b = append(b, esc...)
		i += width
		start = i
	}
	return append(b, s[start:]...)
}

// isXMLChar reports whether r may appear in an XML 1.0 document.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// unixEpochSerial is 1970-01-01 as an Excel date serial. Excel's day 0 is in
// practice 1899-12-30, which absorbs Lotus's phantom 29 February 1900.
const unixEpochSerial = 25569

// excelSerial is t as an Excel date serial: whole days since Excel's epoch,
// the time of day as the fraction. Milliseconds are all a cell shows.
func excelSerial(t time.Time) float64 {
	const day = 24 * 60 * 60 * 1000
	ms := t.UnixMilli()
	days, rest := ms/day, ms%day
	if rest < 0 {
		days, rest = days-1, rest+day
	}
	return float64(days+unixEpochSerial) + float64(rest)/day
}

// xmlSpace reports whether c is XML white space, which a reader drops from
// the ends of a <t> without xml:space="preserve". (xlsxread has its own
// copy: the writer does not import the reader.)
func xmlSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
