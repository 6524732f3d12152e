package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// TestTemplateExampleRowIsNeverPaid (issue 20, finding 2): the untouched
// template's example row looked real and plan said "The sheet can be paid".
// Plan and run must refuse it, naming the row.
func TestTemplateExampleRowIsNeverPaid(t *testing.T) {
	for _, format := range []string{"xlsx", "csv"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			sheet := filepath.Join(dir, "june."+format)
			if code, _, errs := runIn(t, nil, "template", "--format", format, "--out", sheet); code != ExitOK {
				t.Fatalf("template: exit %d\n%s", code, errs)
			}
			ledgerPath := filepath.Join(dir, "payrun.db")
			code, out, errs := runIn(t, nil, "plan", "--sandbox", "--ledger", ledgerPath, sheet)
			if code != ExitUsage || strings.Contains(out+errs, "can be paid") ||
				!strings.Contains(out+errs, `row 2, column "client_transfer_id"`) || !strings.Contains(out+errs, "template's example row; delete it") {
				t.Fatalf("plan: exit %d\n%s\n%s", code, out, errs)
			}
			code, out, errs = runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", ledgerPath, sheet)
			if code != ExitUsage || !strings.Contains(out+errs, "template's example row; delete it") {
				t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
			}
			// --skip-invalid pays the other rows, never the example.
			code, out, errs = runIn(t, nil, "run", "--sandbox", "--yes", "--skip-invalid", "--ledger", ledgerPath, sheet)
			l, err := ledger.Open(t.Context(), ledgerPath, ledger.Options{ReadOnly: true})
			if err != nil {
				t.Fatalf("run --skip-invalid: exit %d, %v\n%s\n%s", code, err, out, errs)
			}
			defer l.Close()
			n := 0
			for r, err := range l.Rows(t.Context(), ledger.RowFilter{}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if r.State != ledger.StateInvalid {
					t.Errorf("row %s ended %s, want INVALID", r.ID, r.State)
				}
			}
			if n != 1 {
				t.Errorf("%d rows in the ledger, want the example as INVALID", n)
			}
		})
	}
}
