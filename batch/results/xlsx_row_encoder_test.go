package results

import (
	"archive/zip"
	"context"
	"encoding/xml"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payrun/payrun/batch/sheet"
)

func TestCRC32Combine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sizes := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {1, 1}, {7, 300}, {4096, 1}, {1 << 16, 3 << 16}} {
		a, b := make([]byte, sizes[0]), make([]byte, sizes[1])
		for i := range a {
			a[i] = byte(rng.Uint32())
		}
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		want := crc32.ChecksumIEEE(append(append([]byte{}, a...), b...))
		if got := crc32Combine(crc32.ChecksumIEEE(a), crc32.ChecksumIEEE(b), int64(len(b))); got != want {
			t.Errorf("sizes %v: combined %08x, want %08x", sizes, got, want)
		}
	}
}

func TestAppendEscaped(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                 "plain",
		"a<b>&c":                "a&lt;b&gt;&amp;c",
		"tab\there\nline\rx":    "tab&#x9;here&#xA;line&#xD;x",
		"bell\x07nul\x00":       "bell\uFFFDnul\uFFFD",
		"bad\xffutf8":           "bad\uFFFDutf8",
		"José Müller 東京 🙂":      "José Müller 東京 🙂",
		"nonchar\uFFFE":         "nonchar\uFFFD",
		`quotes "stay" 'as is'`: `quotes "stay" 'as is'`,
	} {
		if got := string(appendEscaped(nil, in)); got != want {
			t.Errorf("escape %q = %q, want %q", in, got, want)
		}
	}
}

func TestExcelSerial(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 11, 22, 13, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 22, 23, 59, 59, 999e6, time.UTC),
	} {
		back := excelTime(t, strconv.FormatFloat(excelSerial(tm), 'f', -1, 64))
		if d := back.Sub(tm); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("%s comes back as %s", tm, back)
		}
	}
}

// TestWriteResultsManyRows writes enough rows that the encoder hands over
// several chunks, with awkward text, and reads every row back: through
// archive/zip, which checks each part's CRC, and through excelize.
func TestWriteResultsManyRows(t *testing.T) {
	const n = 3000
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the encoders keep their compressed rows
	src := &sliceSource{run: ResultsRun{ID: 7, SheetName: "big.csv", StartedAt: fixtureClock, Environment: "sandbox"}}
	long := strings.Repeat("a long note & <more> ", 20)
	for i := range n {
		id := "id-" + strconv.Itoa(i)
		r := ResultRow{SheetLine: i + 2, ClientTransferID: id, Method: "payout", Amount: dec("1234.56"), SourceCurrency: "USD",
			DestinationCurrency: "JPY", State: []string{"PAID", "NEEDS_ACTION", "FAILED"}[i%3], DestinationAmount: nd("185000"),
			Fee: nd("0.01"), ExchangeRate: nd("149.8512345"), Attempts: i % 4, UpdatedAt: fixtureClock.Add(time.Duration(i) * time.Minute),
			LastError: long + id}
		r.Input = []sheet.InputField{{Header: "client_transfer_id", Value: id}, {Header: "first_name", Value: " José\t"}, {Header: "last_name", Value: "=cmd|' /C calc'!A0"}, {Header: "amount", Value: "1234.56"}, {Header: "note", Value: "bell\x07"}}
		if i%3 == 1 {
			r.KYCUploadLink = "https://sandbox.masspay.example/kyc/" + id + "?a=1&b=2"
		}
		src.rows = append(src.rows, r)
	}
	out := filepath.Join(t.TempDir(), "big.results.xlsx")
	if _, err := WriteResultsFrom(context.Background(), src, out, ResultsOptions{Now: fixtureClock}); err != nil {
		t.Fatal(err)
	}

	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("open part %s: %v", f.Name, err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil { // checks the CRC at the end
			t.Fatalf("read part %s: %v", f.Name, err)
		}
		rc.Close()
	}

	f := openBook(t, out)
	rows := rawRows(t, f, SheetResults)
	if len(rows) != n+1 {
		t.Fatalf("%d rows in Results, want %d and a header", len(rows), n)
	}
	header := rows[0]
	col := func(name string) int { return colIndex(t, header, name, 0) }
	for i, r := range rows[1:] {
		id := "id-" + strconv.Itoa(i)
		if r[0] != id {
			t.Fatalf("row %d: id %q, want %q", i+2, r[0], id)
		}
		if got := r[col("first_name")]; got != " José\t" {
			t.Fatalf("row %d: first_name %q, spaces lost", i+2, got)
		}
		if got := r[col("last_name")]; got != "'=cmd|' /C calc'!A0" {
			t.Fatalf("row %d: last_name %q is not inert", i+2, got)
		}
		if got := r[col("note")]; got != "bell\uFFFD" {
			t.Fatalf("row %d: note %q", i+2, got)
		}
		if got := r[col("error")]; got != long+id {
			t.Fatalf("row %d: error %q", i+2, got)
		}
		if got := r[col("exchange_rate")]; got != "149.8512345" {
			t.Fatalf("row %d: exchange_rate %q", i+2, got)
		}
		if got := excelTime(t, r[col("updated_at")]); !got.Equal(fixtureClock.Add(time.Duration(i) * time.Minute)) {
			t.Fatalf("row %d: updated_at %s", i+2, got)
		}
	}
	// Every row needing a person is on "Needs action", its link clickable.
	needs := rawRows(t, f, SheetNeedsAction)
	if len(needs) != 1+2*n/3 {
		t.Fatalf("%d rows on %s, want %d", len(needs)-1, SheetNeedsAction, 2*n/3)
	}
	ok, target, err := f.GetCellHyperLink(SheetResults, cellRef(col("kyc_upload_link"), 3))
	if err != nil || !ok || target != "https://sandbox.masspay.example/kyc/id-1?a=1&b=2" {
		t.Fatalf("link of row 3: %v %q %v", ok, target, err)
	}
	// The encoders' temp files are gone.
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

// FuzzAppendEscaped checks that any text, however broken, escapes into XML
// character data that a strict parser reads back: the same text, with only
// what XML cannot carry turned into U+FFFD.
func FuzzAppendEscaped(f *testing.F) {
	for _, s := range []string{"", "plain", "a<b>&c", " lead\ttrail\r\n", "\x00\x07\x1f", "\xff\xfe", "José 東京 🙂", "\uFFFE\uFFFF", "]]>", "&amp;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1024 { // longer adds nothing but slower minimizing
			t.Skip()
		}
		doc := append(append([]byte("<t>"), appendEscaped(nil, s)...), "</t>"...)
		var got string
		if err := xml.Unmarshal(doc, &got); err != nil {
			t.Fatalf("escaped %q does not parse: %v\n%s", s, err, doc)
		}
		var want strings.Builder
		for i, r := range s {
			if r == utf8.RuneError && len(s[i:]) > 0 {
				if _, w := utf8.DecodeRuneInString(s[i:]); w == 1 {
					want.WriteRune('\uFFFD')
					continue
				}
			}
			if !isXMLChar(r) {
				r = '\uFFFD'
			}
			want.WriteRune(r)
		}
		if got != want.String() {
			t.Fatalf("%q escaped and parsed is %q, want %q", s, got, want.String())
		}
	})
}
