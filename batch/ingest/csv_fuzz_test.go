package ingest

import (
	"github.com/payrun/payrun/batch/validate"
	"os"
	"path/filepath"
	"testing"
)

// FuzzCSVReader feeds arbitrary bytes to the CSV reader: it must never
// panic, and the row numbers it reports must rise.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte(hdr + "\nT1,u1,A,B,a@b.co,MX,\"1,234.50\"\n"))
	f.Add([]byte("client_transfer_id;internal_user_id;first_name;last_name;email;country;amount\r\nT1;u1;A;B;a@b.co;MX;1.234,5\r\n"))
	f.Add(utf16LE("client_transfer_id\tinternal_user_id\temail\tamount\r\nT1\tu1\ta@b.co\t5\r\n"))
	f.Add([]byte("title\n\n" + hdr + ",notes\n\"T1\",u1,A,B,a@b.co,USA,1,\"multi\nline\"\n\n,,,\nT2,\"u\"\"2\",A,B,a@b.co,USA,2\n"))
	f.Add([]byte{0xEF, 0xBB, 0xBF, 'a', ',', 'b'})
	f.Add([]byte("email,amount,country\n\"unterminated,5,USA\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz.csv")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(p, IngestOptions{})
		if err != nil {
			return
		}
		defer r.Close()
		last := r.HeaderLine()
		v := validate.NewValidator(r.Name(), r.Columns(), validate.ValidateOptions{})
		for row, err := range r.All() {
			if err != nil {
				return
			}
			if row.Line <= last {
				t.Fatalf("row %d after row %d", row.Line, last)
			}
			last = row.Line
			v.Check(row)
		}
		v.Finish()
	})
}
