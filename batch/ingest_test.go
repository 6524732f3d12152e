package batch

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

const hdr = "client_transfer_id,internal_user_id,first_name,last_name,email,country,amount"

func TestCSVEncodingsAndDelimiters(t *testing.T) {
	semi := "client_transfer_id;internal_user_id;first_name;last_name;email;country;amount\r\nT1;u1;José;Núñez;jose@example.com;MX;1.234,56\r\n"
	tab := "client_transfer_id\tinternal_user_id\tfirst_name\tlast_name\temail\tcountry\tamount\r\nT1\tu1\tJosé\tNúñez\tjose@example.com\tMX\t1234.56\r\n"
	comma := hdr + "\r\nT1,u1,José,Núñez,jose@example.com,MX,\"1,234.56\"\r\n"
	tests := []struct {
		name    string
		content []byte
		comma   bool
	}{
		{"utf8.csv", []byte(comma), false},
		{"bom.csv", append([]byte{0xEF, 0xBB, 0xBF}, comma...), false},
		{"semicolon.csv", []byte(semi), true},
		{"bom-semicolon.csv", append([]byte{0xEF, 0xBB, 0xBF}, semi...), true},
		{"utf16le.txt", utf16LE(tab), false},
		{"utf16be.txt", utf16BE(tab), false},
		{"cp1252.csv", []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\r\nT1,u1,Jos\xe9,N\xfa\xf1ez,jose@example.com,MX,1234.56\r\n"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustReadAll(t, writeFile(t, tt.name, tt.content), IngestOptions{})
			if len(s.Rows) != 1 {
				t.Fatalf("rows = %d, want 1", len(s.Rows))
			}
			r := s.Rows[0]
			if r.FirstName != "José" || r.LastName != "Núñez" || r.Country != "MEX" || r.Line != 2 {
				t.Errorf("row = %q %q %q line %d", r.FirstName, r.LastName, r.Country, r.Line)
			}
			if !r.Amount.Equal(decimal.RequireFromString("1234.56")) {
				t.Errorf("amount = %s, want 1234.56", r.Amount)
			}
			if len(r.Problems) != 0 {
				t.Errorf("problems = %v", r.Problems)
			}
		})
	}
}

func TestCSVEmbeddedNewlinesAndRowNumbers(t *testing.T) {
	content := csvText(
		"Payroll June 2026", // a title row above the header
		"",
		hdr+",notes",
		`T1,u1,Ana,Silva,ana@example.com,BRA,10.00,"line one`,
		`line two"`,
		"",
		`T2,u2,Ben,Okoro,ben@example.com,NGA,20.00,plain`,
		",,,,,,,",
	)
	r, err := Open(writeFile(t, "nl.csv", content), IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.HeaderLine() != 3 {
		t.Errorf("header line = %d, want 3", r.HeaderLine())
	}
	var lines []int
	var notes []string
	for row, err := range r.All() {
		if err != nil {
			t.Fatal(err)
		}
		lines, notes = append(lines, row.Line), append(notes, row.Notes)
	}
	// Excel shows the quoted two-line note as one row (4) and counts the
	// blank line after it (5), so T2 is row 6; the all-empty trailing row
	// is skipped.
	if len(lines) != 2 || lines[0] != 4 || lines[1] != 6 {
		t.Errorf("lines = %v, want [4 6]", lines)
	}
	if notes[0] != "line one\r\nline two" && notes[0] != "line one\nline two" {
		t.Errorf("note = %q", notes[0])
	}
}

func TestXLSXIngest(t *testing.T) {
	rows := [][]any{
		{"June payouts"}, // title row
		nil,
		{"Transfer ID", "User ID", "First Name", "Last Name", "E-mail", "Country Code", "Amount", "Time to process", "Date of birth", "attr: bankaccountnumber", "Metadata:Cost Center", "Team"},
		{"T1", "u1", "Ana", "Silva", "ana@example.com", "Brazil", num("1234.5"), serial("46204.375"), serial("32874"), "00123456", "ENG", "core"},
		{"T2", num("42"), "Ben", "Okoro", "ben@example.com", "NG", "20.10", "2026-07-01 09:00", "1990-01-01", nil, nil, nil},
		{"T3", "u3", "Cy", "Lee", "cy@example.com", "USA", formula{"=0.1+0.2", "0.30000000000000004"}},
		nil, nil,
		{"T4", "u4", "Di", "Ng", "di@example.com", "PHL", num("5E-2")},
		nil, nil, nil,
	}
	p := writeXLSX(t, "June", rows)
	s := mustReadAll(t, p, IngestOptions{Location: time.UTC})
	if s.Name != "sheet.xlsx [June]" {
		t.Errorf("name = %q", s.Name)
	}
	if len(s.Rows) != 4 {
		t.Fatalf("rows = %d, want 4", len(s.Rows))
	}
	r := s.Rows[0]
	if r.Line != 4 || r.ClientTransferID != "T1" || r.Email != "ana@example.com" || r.Country != "BRA" {
		t.Errorf("row 1 = %+v", r)
	}
	if !r.Amount.Equal(decimal.RequireFromString("1234.5")) {
		t.Errorf("amount = %s", r.Amount)
	}
	if r.TimeToProcess == nil || !r.TimeToProcess.Equal(time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("time_to_process = %v", r.TimeToProcess)
	}
	if r.DateOfBirth != "1990-01-01" {
		t.Errorf("date_of_birth = %q", r.DateOfBirth)
	}
	if r.Attrs["BankAccountNumber"] != "00123456" || r.Metadata["Cost Center"] != "ENG" {
		t.Errorf("attrs = %v metadata = %v", r.Attrs, r.Metadata)
	}
	if got := r.Input[len(r.Input)-1]; got.Header != "Team" || got.Value != "core" {
		t.Errorf("unknown column echoed as %+v", got)
	}
	if s.Rows[1].InternalUserID != "42" || !s.Rows[1].Amount.Equal(decimal.RequireFromString("20.10")) {
		t.Errorf("row 2: user %q amount %s", s.Rows[1].InternalUserID, s.Rows[1].Amount)
	}
	if !s.Rows[2].Amount.Equal(decimal.RequireFromString("0.3")) {
		t.Errorf("formula's cached 0.1+0.2 = %s, want 0.3", s.Rows[2].Amount)
	}
	if s.Rows[3].Line != 9 || !s.Rows[3].Amount.Equal(decimal.RequireFromString("0.05")) {
		t.Errorf("row 4 line %d amount %s", s.Rows[3].Line, s.Rows[3].Amount)
	}
}

func TestXLSXSheetChoice(t *testing.T) {
	p := writeXLSX(t, "Sheet1", [][]any{{hdr}})
	// Sheet by name that does not exist.
	if _, err := Open(p, IngestOptions{SheetName: "Nope"}); !errors.Is(err, ErrSheetNotFound) {
		t.Errorf("err = %v, want ErrSheetNotFound", err)
	}
	// A header that is one string is not a header.
	if _, err := Open(p, IngestOptions{}); !errors.Is(err, ErrNoHeader) {
		t.Errorf("err = %v, want ErrNoHeader", err)
	}
}

func TestOpenRefusesNonSheets(t *testing.T) {
	if _, err := Open(writeFile(t, "old.xls", []byte{0xD0, 0xCF, 0x11, 0xE0, 0, 0, 0, 0}), IngestOptions{}); !errors.Is(err, ErrLegacyXLS) {
		t.Errorf("xls: err = %v", err)
	}
	if _, err := Open(writeFile(t, "fake.xlsx", []byte("a,b,c\n")), IngestOptions{}); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("fake xlsx: err = %v", err)
	}
	if _, err := Open(writeFile(t, "empty.csv", nil), IngestOptions{}); !errors.Is(err, ErrEmptySheet) {
		t.Errorf("empty: err = %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.csv"), IngestOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: err = %v", err)
	}
}

func TestRowFromInputRoundTrip(t *testing.T) {
	s := mustReadAll(t, "../samples/monthly-freelancers.xlsx", IngestOptions{})
	for _, r := range s.Rows {
		got, err := RowFromInput(r.Input)
		if err != nil {
			t.Fatalf("row %d: %v", r.Line, err)
		}
		if got.Fingerprint() != r.Fingerprint() {
			t.Fatalf("row %d: fingerprint changed through RowFromInput", r.Line)
		}
	}
	// An amount whose meaning depends on the decimal mark is refused.
	if _, err := RowFromInput([]InputField{{Header: "client_transfer_id", Value: "T"}, {Header: "amount", Value: "1,234"}}); err == nil {
		t.Error("RowFromInput accepted the ambiguous amount 1,234")
	}
}

func TestFingerprint(t *testing.T) {
	base := Row{ClientTransferID: "T1", InternalUserID: "u1", Email: "a@b.co", Country: "MEX", Method: "load",
		Amount: decimal.RequireFromString("10.50"), SourceCurrency: "USD", AmountIs: "source"}
	same := base
	same.Amount = decimal.RequireFromString("10.5")
	same.Notes, same.Metadata = "changed", map[string]string{"k": "v"}
	if base.Fingerprint() != same.Fingerprint() {
		t.Error("fingerprint depends on notes, metadata or amount spelling")
	}
	for name, mod := range map[string]func(*Row){
		"amount":   func(r *Row) { r.Amount = decimal.RequireFromString("10.51") },
		"email":    func(r *Row) { r.Email = "x@b.co" },
		"currency": func(r *Row) { r.SourceCurrency = "EUR" },
		"method":   func(r *Row) { r.Method = "payout" },
		"route":    func(r *Row) { r.DeliveryType = "CASH_PICKUP" },
		"attr":     func(r *Row) { r.Attrs = map[string]string{"BankAccountNumber": "1"} },
		"time": func(r *Row) {
			tt := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			r.TimeToProcess = &tt
		},
	} {
		r := base
		mod(&r)
		if r.Fingerprint() == base.Fingerprint() {
			t.Errorf("fingerprint ignores %s", name)
		}
	}
}

func TestNextAfterEOF(t *testing.T) {
	r, err := Open(writeFile(t, "one.csv", csvText(hdr, "T1,u1,A,B,a@b.co,USA,1")), IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
}
