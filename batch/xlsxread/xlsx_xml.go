package xlsxread

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// xmlScanner is a minimal pull tokenizer for the parts of an XLSX package
// that can be large (the worksheet and the shared strings). encoding/xml
// allocates a token, a name and an attribute slice per element and spends
// most of a big sheet's read time doing so; a worksheet only needs element
// names, two or three attributes and the text of <v> and <t>, so this
// scanner hands out slices of its own buffer instead, valid until the next
// call. It reads start tags, end tags and character data; it skips
// comments, processing instructions and DOCTYPE, and returns CDATA as text.
// It trusts the file to be well-formed XML (Excel and every library that
// writes XLSX produce it) and does not check that tags nest.
type xmlScanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	eof      bool
	err      error

	// The current token.
	kind      xmlKind
	name      []byte // local name of a start or end tag, prefix dropped
	attrs     []byte // the raw attributes of a start tag
	selfClose bool   // a start tag written <x/>
	text      []byte // raw character data, entities still encoded
	cdata     bool   // text came from a CDATA section: no entities in it
}

type xmlKind int

const (
	xmlStart xmlKind = iota + 1
	xmlEnd
	xmlText
)

// errXMLSyntax is returned for a part that is not XML the scanner can read.
var errXMLSyntax = errors.New("malformed XML")

// maxXMLToken bounds one tag or text run, so a corrupt file cannot make the
// scanner buffer the whole part.
const maxXMLToken = 64 << 20

func newXMLScanner(r io.Reader) *xmlScanner {
	return &xmlScanner{r: r, buf: make([]byte, 64<<10)}
}

// more reads more input, keeping buf[pos:end]. It reports false at the end
// of the input or on a read error (kept in s.err).
func (s *xmlScanner) more() bool {
	if s.eof || s.err != nil {
		return false
	}
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= maxXMLToken {
			s.err = fmt.Errorf("%w: a token longer than %d bytes", errXMLSyntax, maxXMLToken)
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
			return n > 0
		}
		if err != nil {
			s.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
}

// next advances to the next token. It returns io.EOF at the end of the
// input and any read or syntax error otherwise.
func (s *xmlScanner) next() error {
	for {
		if s.pos == s.end && !s.more() {
			if s.err != nil {
				return s.err
			}
			return io.EOF
		}
		if s.buf[s.pos] != '<' {
			return s.scanText()
		}
		ok, err := s.scanMarkup()
		if err != nil || ok {
			return err
		}
	}
}

// scanText reads character data up to the next '<'.
func (s *xmlScanner) scanText() error {
	from := s.pos
	for {
		if i := bytes.IndexByte(s.buf[from:s.end], '<'); i >= 0 {
			s.setText(s.pos, from+i, false)
			s.pos = from + i
			return nil
		}
		from = s.end - s.pos
		if !s.more() {
			if s.err != nil {
				return s.err
			}
			s.setText(s.pos, s.end, false)
			s.pos = s.end
			return nil
		}
		from += s.pos
	}
}

func (s *xmlScanner) setText(from, to int, cdata bool) {
	s.kind, s.text, s.cdata, s.name, s.attrs, s.selfClose = xmlText, s.buf[from:to], cdata, nil, nil, false
}

// scanMarkup reads the markup at s.pos, a '<'. It reports false when the
// markup was skipped (a comment, a processing instruction) and the caller
// should look further.
func (s *xmlScanner) scanMarkup() (bool, error) {
	if !s.need(2) {
		return false, s.eofIn("a tag")
	}
	switch s.buf[s.pos+1] {
	case '?':
		return false, s.skipPast("?>")
	case '!':
		if !s.need(9) {
			return false, s.eofIn("markup")
		}
		switch {
		case bytes.HasPrefix(s.buf[s.pos:s.end], []byte("<!--")):
			return false, s.skipPast("-->")
		case bytes.HasPrefix(s.buf[s.pos:s.end], []byte("<![CDATA[")):
			end, err := s.find("]]>", 9)
			if err != nil {
				return false, err
			}
			s.setText(s.pos+9, end, true)
			s.pos = end + 3
			return true, nil
		}
		return false, s.skipPast(">")
	}
	// A tag: find its '>' outside quoted attribute values.
	i := s.pos + 1
	for {
		j := indexTagEnd(s.buf[i:s.end])
		if j < 0 {
			off := i - s.pos
			if !s.more() {
				return false, s.eofIn("a tag")
			}
			i = s.pos + off
			continue
		}
		i += j
		if c := s.buf[i]; c != '>' {
			k := bytes.IndexByte(s.buf[i+1:s.end], c)
			if k < 0 {
				off := i - s.pos
				if !s.more() {
					return false, s.eofIn("an attribute value")
				}
				i = s.pos + off
				continue
			}
			i += k + 2
			continue
		}
		break
	}
	tag := s.buf[s.pos+1 : i]
	s.pos = i + 1
	s.text, s.cdata = nil, false
	if len(tag) > 0 && tag[0] == '/' {
		s.kind, s.name, s.attrs, s.selfClose = xmlEnd, localName(trimXMLSpace(tag[1:])), nil, false
		return true, nil
	}
	s.kind, s.selfClose = xmlStart, false
	if n := len(tag); n > 0 && tag[n-1] == '/' {
		s.selfClose, tag = true, tag[:n-1]
	}
	n := 0
	for n < len(tag) && !isXMLSpace(tag[n]) {
		n++
	}
	s.name, s.attrs = localName(tag[:n]), tag[n:]
	return true, nil
}

// need makes sure n bytes from s.pos are buffered, if the input has them.
func (s *xmlScanner) need(n int) bool {
	for s.end-s.pos < n {
		if !s.more() {
			return false
		}
	}
	return true
}

// find returns the buffer index of sep, searching from s.pos+skip.
func (s *xmlScanner) find(sep string, skip int) (int, error) {
	from := skip
	for {
		if i := bytes.Index(s.buf[s.pos+from:s.end], []byte(sep)); i >= 0 {
			return s.pos + from + i, nil
		}
		from = max(skip, s.end-s.pos-len(sep)+1)
		if !s.more() {
			return 0, s.eofIn("markup")
		}
	}
}

func (s *xmlScanner) skipPast(sep string) error {
	i, err := s.find(sep, 2)
	if err != nil {
		return err
	}
	s.pos = i + len(sep)
	return nil
}

// indexTagEnd returns the index of the first '>' or quote in b, or -1.
func indexTagEnd(b []byte) int {
	for i, c := range b {
		if c == '>' || c == '"' || c == '\'' {
			return i
		}
	}
	return -1
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func trimXMLSpace(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isXMLSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func (s *xmlScanner) eofIn(what string) error {
	if s.err != nil {
		return s.err
	}
	return fmt.Errorf("%w: the part ends inside %s", errXMLSyntax, what)
}

// is reports whether the current token is a start (or end) tag named name.
func (s *xmlScanner) is(kind xmlKind, name string) bool {
	return s.kind == kind && string(s.name) == name
}

// skipElement skips to the end of the element whose start tag is the
// current token.
func (s *xmlScanner) skipElement() error {
	if s.selfClose {
		return nil
	}
	for depth := 1; depth > 0; {
		if err := s.next(); err != nil {
			return noEOF(err)
		}
		switch {
		case s.kind == xmlStart && !s.selfClose:
			depth++
		case s.kind == xmlEnd:
			depth--
		}
	}
	return nil
}

// appendText appends the text of the element whose start tag is the current
// token to dst, decoded, and leaves the scanner on its end tag. Child
// elements' text is included.
func (s *xmlScanner) appendText(dst []byte) ([]byte, error) {
	if s.selfClose {
		return dst, nil
	}
	for depth := 1; ; {
		if err := s.next(); err != nil {
			return dst, noEOF(err)
		}
		switch s.kind {
		case xmlText:
			dst = appendXMLText(dst, s.text, s.cdata)
		case xmlStart:
			if !s.selfClose {
				depth++
			}
		case xmlEnd:
			if depth--; depth == 0 {
				return dst, nil
			}
		}
	}
}

func noEOF(err error) error {
	if err == io.EOF {
		return fmt.Errorf("%w: the part ends inside an element", errXMLSyntax)
	}
	return err
}

// attr returns the raw value of the attribute with the given local name in
// a start tag's attributes, and whether it is there.
func attr(attrs []byte, name string) ([]byte, bool) {
	for {
		eq := bytes.IndexByte(attrs, '=')
		if eq < 0 {
			return nil, false
		}
		key := localName(trimXMLSpace(attrs[:eq]))
		rest := trimXMLSpace(attrs[eq+1:])
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return nil, false
		}
		end := bytes.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return nil, false
		}
		if string(key) == name {
			return rest[1 : 1+end], true
		}
		attrs = rest[end+2:]
	}
}

// attrString is attr's value decoded, "" when absent.
func attrString(attrs []byte, name string) string {
	v, _ := attr(attrs, name)
	if bytes.IndexByte(v, '&') < 0 {
		return string(v)
	}
	return string(appendXMLText(nil, v, false))
}

func localName(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// appendXMLText appends raw character data to dst as encoding/xml would
// return it: entity and character references decoded, and line ends
// normalised ("\r\n" and a lone "\r" become "\n"), as the XML spec asks.
// An unknown entity is kept as written.
func appendXMLText(dst, raw []byte, cdata bool) []byte {
	if bytes.IndexByte(raw, '\r') < 0 && (cdata || bytes.IndexByte(raw, '&') < 0) {
		return append(dst, raw...)
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '\r':
			dst = append(dst, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case c == '&' && !cdata:
			semi := bytes.IndexByte(raw[i:], ';')
			if semi < 0 {
				dst = append(dst, c)
				continue
			}
			if r, ok := xmlEntity(raw[i+1 : i+semi]); ok {
				dst = utf8.AppendRune(dst, r)
				i += semi
				continue
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// xmlEntity decodes the name of an entity or character reference.
func xmlEntity(name []byte) (rune, bool) {
	switch string(name) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	base, digits := 10, name[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	n, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		return 0, false
	}
	return rune(n), true
}
