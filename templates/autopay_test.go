package templates

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/batch/autopay"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/templates/internal/build"
)

// TestAutopayUpToDate regenerates the autopay rules templates and compares
// them with the embedded ones.
func TestAutopayUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := build.WriteAutopay(dir); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatXLSX, FormatCSV} {
		fresh, err := os.ReadFile(filepath.Join(dir, AutopayFileName(format)))
		if err != nil {
			t.Fatal(err)
		}
		embedded, err := AutopayTemplate(format)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, embedded) {
			t.Errorf("%s is stale: run go generate ./templates", AutopayFileName(format))
		}
	}
	if _, err := AutopayTemplate("ods"); err == nil {
		t.Error("AutopayTemplate(ods) did not fail")
	}
}

// TestAutopayTemplatesParse reads each template with the real rules-sheet
// reader: the example row is a clean 25% rule.
func TestAutopayTemplatesParse(t *testing.T) {
	for _, format := range []string{FormatXLSX, FormatCSV} {
		data, _ := AutopayTemplate(format)
		p := filepath.Join(t.TempDir(), AutopayFileName(format))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := autopay.ReadAutopaySheet(p, ingest.IngestOptions{})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		// The example rule is refused for its payee id alone, so applying
		// the untouched template sets up nothing.
		if ps := autopay.ValidateAutopaySheet(s); len(ps) != 1 || ps[0].Rule != "template_example" {
			t.Errorf("%s: %v; want only template_example", format, ps)
		}
		if len(s.Rows) != 1 || s.Rows[0].Percentage.String() != "25" || s.Rows[0].Route.Country != "BRA" || len(s.Rows[0].Route.Attrs) != 2 {
			t.Errorf("%s: rows %+v", format, s.Rows)
		}
	}
}
