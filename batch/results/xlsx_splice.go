package results

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sort"
)

// errNoSheetData is returned when a sheet part has no </sheetData> to put
// the rows before: excelize changed how it writes sheets.
var errNoSheetData = errors.New("sheet part has no </sheetData>")

// splicingZip is the zip writer excelize writes the workbook through. It
// passes every part straight to the file, except the parts of sheets whose
// rows a rowEncoder holds: those it catches whole (only a header row and
// the sheet's settings, a few kilobytes) and writes as three deflate
// segments, the part up to </sheetData>, the encoder's rows, and the rest.
type splicingZip struct {
	zw     *zip.Writer
	rows   map[string]*rowEncoder // by part name
	done   map[string]bool
	part   string // the part being caught, if any
	caught bytes.Buffer
}

func newSplicingZip(w io.Writer, rows map[string]*rowEncoder) *splicingZip {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	return &splicingZip{zw: zw, rows: rows, done: make(map[string]bool)}
}

// Create starts part name.
func (z *splicingZip) Create(name string) (io.Writer, error) {
	if err := z.endPart(); err != nil {
		return nil, err
	}
	if _, ok := z.rows[name]; ok {
		z.part = name
		z.caught.Reset()
		return &z.caught, nil
	}
	return z.zw.Create(name)
}

// AddFS adds the files of fsys.
func (z *splicingZip) AddFS(fsys fs.FS) error {
	if err := z.endPart(); err != nil {
		return err
	}
	return z.zw.AddFS(fsys)
}

// Close ends the archive; it fails if a sheet's rows were never written.
func (z *splicingZip) Close() error {
	if err := z.endPart(); err != nil {
		return err
	}
	var missing []string
	for name := range z.rows {
		if !z.done[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("write rows of %v: the workbook has no such part", missing)
	}
	return z.zw.Close()
}

// endPart writes the part being caught, with its rows spliced in.
func (z *splicingZip) endPart() error {
	if z.part == "" {
		return nil
	}
	name, rows := z.part, z.rows[z.part]
	z.part = ""
	body := z.caught.Bytes()
	at := bytes.LastIndex(body, []byte("</sheetData>"))
	if at < 0 {
		return fmt.Errorf("write %s: %w", name, errNoSheetData)
	}
	head, tail := body[:at], body[at:]

	var zhead, ztail bytes.Buffer
	fw, _ := flate.NewWriter(&zhead, flate.BestSpeed)
	if _, err := fw.Write(head); err != nil {
		return fmt.Errorf("compress %s: %w", name, err)
	}
	if err := fw.Flush(); err != nil { // a sync flush: the rows follow
		return fmt.Errorf("compress %s: %w", name, err)
	}
	fw.Reset(&ztail)
	if _, err := fw.Write(tail); err != nil {
		return fmt.Errorf("compress %s: %w", name, err)
	}
	if err := fw.Close(); err != nil { // the final block
		return fmt.Errorf("compress %s: %w", name, err)
	}

	crc := crc32.ChecksumIEEE(head)
	crc = crc32Combine(crc, rows.crc, rows.size)
	crc = crc32Combine(crc, crc32.ChecksumIEEE(tail), int64(len(tail)))
	w, err := z.zw.CreateRaw(&zip.FileHeader{
		Name:               name,
		Method:             zip.Deflate,
		CRC32:              crc,
		CompressedSize64:   uint64(int64(zhead.Len()) + rows.zlen + int64(ztail.Len())),
		UncompressedSize64: uint64(int64(len(head)) + rows.size + int64(len(tail))),
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	zrows, err := rows.compressed()
	if err != nil {
		return err
	}
	if _, err := w.Write(zhead.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if n, err := io.Copy(w, zrows); err != nil || n != rows.zlen {
		return fmt.Errorf("write %s: copied %d of %d compressed bytes: %w", name, n, rows.zlen, err)
	}
	if _, err := w.Write(ztail.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	z.done[name] = true
	return nil
}

// crc32Combine is the CRC-32 (IEEE) of A followed by B, given the CRC of A,
// the CRC of B and B's length: zlib's crc32_combine. It lets the rows be
// checksummed as they are written, before the part's head is known.
func crc32Combine(crcA, crcB uint32, lenB int64) uint32 {
	if lenB <= 0 {
		return crcA
	}
	var even, odd [32]uint32
	odd[0] = crc32.IEEE // the operator for one zero bit
	row := uint32(1)
	for n := 1; n < 32; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // two zero bits
	gf2Square(&odd, &even) // four
	// Apply lenB zero bytes to crcA, squaring the operator each step.
	for {
		gf2Square(&even, &odd)
		if lenB&1 != 0 {
			crcA = gf2Times(&even, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
		gf2Square(&odd, &even)
		if lenB&1 != 0 {
			crcA = gf2Times(&odd, crcA)
		}
		if lenB >>= 1; lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

func gf2Times(mat *[32]uint32, vec uint32) uint32 {
	var sum uint32
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[32]uint32) {
	for n := range 32 {
		square[n] = gf2Times(mat, mat[n])
	}
}
