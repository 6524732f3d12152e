package templates

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/validate"
	"github.com/payrun/payrun/templates/internal/build"
	"github.com/xuri/excelize/v2"
)

// TestUpToDate regenerates the templates and compares them with the
// embedded ones: a column change without `go generate ./templates` fails.
func TestUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := build.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatXLSX, FormatCSV} {
		fresh, err := os.ReadFile(filepath.Join(dir, FileName(format)))
		if err != nil {
			t.Fatal(err)
		}
		embedded, err := Template(format)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, embedded) {
			t.Errorf("%s is stale: run go generate ./templates", FileName(format))
		}
	}
	if _, err := Template("pdf"); err == nil {
		t.Error("Template(pdf) did not fail")
	}
}

// TestTemplatesParse reads each template with the real ingest: every column
// is known and the example row's one problem is that it is the example.
func TestTemplatesParse(t *testing.T) {
	for _, format := range []string{FormatXLSX, FormatCSV} {
		data, _ := Template(format)
		p := filepath.Join(t.TempDir(), FileName(format))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := ingest.ReadAll(p, ingest.IngestOptions{})
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for _, c := range s.Columns {
			if c.Key == "" {
				t.Errorf("%s: column %q is not a known column", format, c.Header)
			}
		}
		if len(s.Rows) != 1 {
			t.Fatalf("%s: %d example rows, want 1", format, len(s.Rows))
		}
		// The example row is refused for its id alone, so it cannot be paid,
		// and is otherwise a clean row to copy.
		ps := validate.Validate(s.Rows, validate.ValidateOptions{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if len(ps) != 1 || ps[0].Rule != "template_example" || len(s.Problems) != 0 {
			t.Errorf("%s: example row problems: %v %v; want only template_example", format, ps, s.Problems)
		}
	}
}

// TestXLSXFeatures checks what finance relies on in the workbook: a frozen
// header, a note on every column, the drop-downs and the hidden lists.
func TestXLSXFeatures(t *testing.T) {
	data, _ := Template(FormatXLSX)
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	panes, err := f.GetPanes("Payouts")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes = %+v, %v; want the header frozen", panes, err)
	}
	hdr, _ := f.GetRows("Payouts")
	comments, err := f.GetComments("Payouts")
	if err != nil {
		t.Fatal(err)
	}
	noted := map[string]bool{}
	for _, c := range comments {
		if c.Text != "" || len(c.Paragraph) > 0 {
			noted[c.Cell] = true
		}
	}
	for i := range hdr[0] {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if !noted[cell] {
			t.Errorf("header %s (%s) has no note", cell, hdr[0][i])
		}
	}
	dvs, err := f.GetDataValidations("Payouts")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"country": false, "method": false, "source_currency": false, "destination_currency": false, "delivery_type": false}
	for _, dv := range dvs {
		col, _, _ := excelize.SplitCellName(strings.Split(dv.Sqref, ":")[0])
		for i, h := range hdr[0] {
			name, _ := excelize.ColumnNumberToName(i + 1)
			if name == col {
				if _, ok := want[h]; ok {
					want[h] = true
				}
			}
		}
	}
	for h, ok := range want {
		if !ok {
			t.Errorf("no drop-down on %s", h)
		}
	}
	if vis, _ := f.GetSheetVisible("Lists"); vis {
		t.Error("the Lists sheet is visible")
	}
	countries, _ := f.GetRows("Lists")
	if len(countries) < 250 || countries[1][0] != "ABW" && countries[1][0] != "AND" {
		t.Errorf("Lists has %d rows, first %v", len(countries), countries[1])
	}
}
