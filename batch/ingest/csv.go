package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/payrun/payrun/batch/sheet"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// csvSource reads a CSV file record by record.
//
// It uses encoding/csv directly rather than gocarina/gocsv: gocsv maps
// records onto struct fields by fixed tags, and a payout sheet's header is
// only known at run time (aliases, attr:<Type> and metadata:<key> columns,
// unknown columns kept), and the rows must stream with their positions so
// problems can name the row. encoding/csv gives exactly that.
type csvSource struct {
	f       *os.File
	r       *csv.Reader
	delim   rune
	charset string // "" for UTF-8
	row     int    // row number of the last record, as Excel counts
	endLine int    // physical line the last record ended on
}

// sniffSize is how much of a CSV file is looked at to detect its encoding
// and delimiter. The decimal mark is not guessed from it: see readAmount.
const sniffSize = 64 << 10

func openCSV(path string) (*csvSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open sheet: %w", err)
	}
	s := &csvSource{f: f}
	raw := bufio.NewReaderSize(f, sniffSize)
	head, _ := raw.Peek(sniffSize)
	var text io.Reader = raw
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		// Excel's "Unicode text": UTF-16 with a byte order mark.
		s.charset = "UTF-16"
		text = transform.NewReader(raw, unicode.BOMOverride(unicode.UTF8.NewDecoder()))
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		raw.Discard(3)
	case !validUTF8Prefix(head):
		// Excel's plain "CSV" on Windows writes the ANSI code page.
		s.charset = "Windows-1252"
		text = transform.NewReader(raw, charmap.Windows1252.NewDecoder())
	}
	br := bufio.NewReaderSize(text, sniffSize)
	sample, _ := br.Peek(sniffSize)
	s.delim = sniffDelimiter(string(sample))
	s.r = csv.NewReader(br)
	s.r.Comma = s.delim
	s.r.FieldsPerRecord = -1
	// Excel reads a stray quote inside an unquoted field literally (O"Brien);
	// so do we, instead of refusing the file.
	s.r.LazyQuotes = true
	s.r.ReuseRecord = true
	return s, nil
}

// validUTF8Prefix reports whether b is UTF-8, allowing a rune cut at the end.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		b = b[:len(b)-1]
	}
	return len(b) == 0
}

func (s *csvSource) warnings(name string) []sheet.Problem {
	if s.charset != "Windows-1252" {
		return nil
	}
	return []sheet.Problem{{Sheet: name, Severity: sheet.SeverityWarning, Rule: "encoding",
		Message: "the file is not UTF-8; it was read as Windows-1252 (Excel's ANSI CSV); save it as \"CSV UTF-8\" to be sure of accented names"}}
}

func (s *csvSource) next() (int, []string, error) {
	rec, err := s.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("read csv: %w", err)
	}
	// Excel numbers a record's row by records, counting blank lines (which
	// encoding/csv skips) but not the line breaks inside quoted fields.
	start, _ := s.r.FieldPos(0)
	gap := start - s.endLine
	if gap < 1 {
		gap = 1
	}
	s.row += gap
	last, _ := s.r.FieldPos(len(rec) - 1)
	s.endLine = last + strings.Count(rec[len(rec)-1], "\n")
	return s.row, rec, nil
}

func (s *csvSource) close() error { return s.f.Close() }

// sniffDelimiter picks among comma, semicolon and tab the one that splits a
// line of the sample into the most known column names; ties go to the one
// that occurs most on the first line.
func sniffDelimiter(sample string) rune {
	lines := strings.SplitN(sample, "\n", errHeaderScanSize+1)
	if len(lines) > errHeaderScanSize {
		lines = lines[:errHeaderScanSize]
	}
	best, bestScore := ',', -1
	for _, d := range []rune{',', ';', '\t'} {
		score := 0
		for _, l := range lines {
			parts := strings.Split(strings.TrimRight(l, "\r"), string(d))
			for i := range parts {
				parts[i] = strings.Trim(parts[i], `" `)
			}
			score = max(score, sheet.KnownHeaderCount(parts)*1000)
		}
		if len(lines) > 0 {
			score += strings.Count(lines[0], string(d))
		}
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}
