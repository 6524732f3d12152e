package ingest

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"github.com/payrun/payrun/internal/memprobe"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/batch/validate"
	"github.com/payrun/payrun/batch/xlsxread"
)

// bombXLSX writes a real workbook (a header and one row, through excelize)
// whose shared strings part is padded with extra strings until it inflates
// to inflated bytes. Such a file is about a thousandth of that on disk.
func bombXLSX(t *testing.T, inflated int64, pad string) string {
	t.Helper()
	src := writeXLSX(t, "Pay", [][]any{
		{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "amount"},
		{"b-1", "u-1", "Ana", "Diaz", "ana@example.com", "MEX", num("10.00")},
	})
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := filepath.Join(t.TempDir(), "bomb.xlsx")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	// BestSpeed: a run of one letter compresses about as well, much faster.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: zf.Name, Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(zf.Name, "xl/sharedStrings.xml") {
			w.Write(body)
			continue
		}
		end := bytes.LastIndex(body, []byte("</sst>"))
		w.Write(body[:end])
		block := []byte(strings.Repeat(pad, max(1, (64<<10)/len(pad))))
		for n := int64(end); n < inflated; n += int64(len(block)) {
			if _, err := w.Write(block); err != nil {
				t.Fatal(err)
			}
		}
		w.Write([]byte("</sst>"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestXLSXSharedStringsBombRefused: a small workbook whose shared strings
// inflate to hundreds of MB is refused with "workbook too large when
// unpacked", naming the part, with a bounded heap. The whole table used to
// be held in memory (up to 4 GB), pre-sized from the size the zip declares.
// At 300 MB the declared size is over the part's cap and nothing is
// inflated; at 200 MB the part is under it, and the table's text reaches
// its own cap while it streams. 100 MB of empty strings adds no text but
// 20 million entries, over the cap on their number.
func TestXLSXSharedStringsBombRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates a few hundred MB")
	}
	long := "<si><t>" + strings.Repeat("A", 64<<10) + "</t></si>"
	for _, tc := range []struct {
		mb      int64
		pad     string
		maxHeap float64
	}{{300, long, 50}, {200, long, 250}, {100, "<si/>", 250}} {
		path := bombXLSX(t, tc.mb<<20, tc.pad)
		if fi, _ := os.Stat(path); fi.Size() > 2<<20 {
			t.Fatalf("bomb is %d bytes on disk; the test wants a small file", fi.Size())
		}
		probe := memprobe.Start()
		_, err := ValidateFile(path, IngestOptions{}, validate.ValidateOptions{})
		heapMB, _ := probe.Stop()
		if !errors.Is(err, ErrWorkbookTooLarge) {
			t.Fatalf("%d MB: ValidateFile = %v, want ErrWorkbookTooLarge", tc.mb, err)
		}
		for _, want := range []string{"workbook too large when unpacked", "xl/sharedStrings.xml"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%d MB: error %q does not say %q", tc.mb, err, want)
			}
		}
		if heapMB > tc.maxHeap {
			t.Errorf("%d MB: peak heap %.0f MB; want under %.0f", tc.mb, heapMB, tc.maxHeap)
		}
		t.Logf("%d MB: refused with peak heap %.0f MB: %v", tc.mb, heapMB, err)
	}
}

// The excelize reader, kept for packages the scanner does not know, reads
// every part into memory: it refuses the same bomb before reading it.
func TestXLSXExcelizeReaderRefusesBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 300 MB-inflating workbook")
	}
	path := bombXLSX(t, 300<<20, "<si><t>"+strings.Repeat("A", 64<<10)+"</t></si>")
	probe := memprobe.Start()
	s, err := xlsxread.OpenExcelize(path, "")
	heapMB, _ := probe.Stop()
	if s != nil {
		s.Close()
	}
	if !errors.Is(err, ErrWorkbookTooLarge) || !strings.Contains(err.Error(), "xl/sharedStrings.xml") {
		t.Fatalf("openXLSXExcelize = %v, want ErrWorkbookTooLarge naming xl/sharedStrings.xml", err)
	}
	if heapMB > 50 {
		t.Errorf("peak heap %.0f MB", heapMB)
	}
}
