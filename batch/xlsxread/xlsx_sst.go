package xlsxread

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// sharedStrings is a workbook's shared strings table, the one part of an
// XLSX that must sit in memory while its rows stream (any cell may point at
// any string). It keeps every string in one block with an offset per
// string, rather than a string header and an allocation each: for a sheet
// of unique ids and e-mails that is the difference between 4 and 20 bytes
// of overhead a string.
type sharedStrings struct {
	text string
	ends []uint32 // ends[i] is where string i ends in text; it starts at ends[i-1]
}

// len is the number of strings.
func (t *sharedStrings) len() int { return len(t.ends) }

// at returns string i, which shares memory with the table.
func (t *sharedStrings) at(i int) string {
	start := uint32(0)
	if i > 0 {
		start = t.ends[i-1]
	}
	return t.text[start:t.ends[i]]
}

// readSharedStrings decodes the shared strings part called name, holding
// at most maxSharedStringsText bytes of text (ErrWorkbookTooLarge past it).
// sizeHint, the part's declared uncompressed size, pre-sizes the block,
// but only up to a few MB: a zip may overstate it, and a tiny file must not
// make payrun allocate gigabytes.
func readSharedStrings(r io.Reader, sizeHint uint64, name string) (*sharedStrings, error) {
	sc := newXMLScanner(r)
	// The text grows in a byte slice rather than a strings.Builder, so the
	// growth stops at the cap: a Builder would double to twice the cap.
	text := make([]byte, 0, min(sizeHint/2, 8<<20)) // markup is at least half of a typical table
	t := &sharedStrings{}
	var item []byte
	for {
		err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read shared strings: %w", err)
		}
		switch {
		case sc.is(xmlStart, "sst"):
			if n, err := strconv.Atoi(attrString(sc.attrs, "uniqueCount")); err == nil && n > 0 {
				// uniqueCount is the file's word too: a hint, capped.
				t.ends = make([]uint32, 0, min(n, 1<<20))
			}
		case sc.is(xmlStart, "si"):
			if item, err = appendStringItem(sc, item[:0]); err != nil {
				return nil, fmt.Errorf("read shared strings: %w", err)
			}
			s := unescapeBSTR(item)
			if len(text)+len(s) > maxSharedStringsText {
				return nil, errTooLarge(name, maxSharedStringsText, "the text of")
			}
			if len(t.ends) >= maxSharedStrings {
				return nil, fmt.Errorf("%w: %s has over %d strings", ErrWorkbookTooLarge, name, maxSharedStrings)
			}
			if len(text)+len(s) > cap(text) {
				grown := make([]byte, len(text), min(max(2*cap(text), len(text)+len(s), 64<<10), maxSharedStringsText))
				copy(grown, text)
				text = grown
			}
			text = append(text, s...)
			t.ends = append(t.ends, uint32(len(text)))
		}
	}
	if len(text) > 0 {
		// The slice is not written again: share it instead of copying
		// what may be a hundred MB.
		t.text = unsafe.String(&text[0], len(text))
	}
	return t, nil
}

// appendStringItem appends the text of the <si> or <is> element the scanner
// is on: its <t>, then the <t> of each rich-text run <r>, as Excel shows
// them. Phonetic runs (<rPh>, the furigana above Japanese text) are not part
// of the value and are skipped.
func appendStringItem(sc *xmlScanner, dst []byte) ([]byte, error) {
	if sc.selfClose {
		return dst, nil
	}
	for {
		if err := sc.next(); err != nil {
			return dst, noEOF(err)
		}
		switch sc.kind {
		case xmlEnd:
			if string(sc.name) == "si" || string(sc.name) == "is" {
				return dst, nil
			}
		case xmlStart:
			var err error
			switch string(sc.name) {
			case "t":
				dst, err = sc.appendText(dst)
			case "r":
				// A run: its <t> is read when the loop reaches it, its
				// formatting (<rPr>) is skipped as any other element.
			default:
				err = sc.skipElement()
			}
			if err != nil {
				return dst, err
			}
		}
	}
}

// unescapeBSTR decodes the _xHHHH_ escapes Excel writes for characters XML
// cannot carry (control characters), as excelize does: _x000D_ is a
// carriage return and _x005F_ an escaped underscore.
func unescapeBSTR(s []byte) []byte {
	if !bytes.Contains(s, []byte("_x")) {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+6 < len(s) && s[i+1] == 'x' && s[i+6] == '_' {
			if n, err := strconv.ParseUint(string(s[i+2:i+6]), 16, 16); err == nil && isHex4(s[i+2:i+6]) {
				switch {
				case n == 0x5F:
					out = append(out, '_')
				case n >= 0xD800 && n <= 0xDFFF:
					// A lone surrogate is no character; excelize drops it too.
				default:
					out = utf8.AppendRune(out, rune(n))
				}
				i += 6
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return len(b) == 4
}
