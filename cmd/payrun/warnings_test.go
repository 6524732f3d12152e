package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestRepeatedWarningsSummarised: 300 amounts written "$1,250.00" give one
// "currency symbol" line with its count and first rows, in the CLI output,
// the plan workbook and the results workbook, not 300. Before, the CLI
// printed one line per row and neither workbook listed them.
func TestRepeatedWarningsSummarised(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.csv")
	var b strings.Builder
	b.WriteString("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\r\n")
	for i := range n {
		fmt.Fprintf(&b, "W-%d,u-w-%d,Ana,Silva,ana.w%d@example.com,USA,\"$1,250.00\"\r\n", i, i, i)
	}
	if err := os.WriteFile(sheet, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ledgerPath := filepath.Join(dir, "payrun.db")
	planOut := filepath.Join(dir, "june.plan.xlsx")
	code, out, errs := runIn(t, nil, "plan", "--sandbox", "--ledger", ledgerPath, "--out", planOut, sheet)
	if code != ExitOK {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errs)
	}
	// Warnings are lines for a person: on stdout when stderr is no
	// terminal (as here), on stderr beside a terminal.
	lines := 0
	for _, l := range strings.Split(out+errs, "\n") {
		if strings.Contains(l, "warning:") {
			lines++
			if !strings.Contains(l, "300 rows like it: rows 2, 3, 4, 5, 6 and 295 more") {
				t.Errorf("warning line %q does not count the rows", l)
			}
		}
	}
	if lines != 1 {
		t.Fatalf("%d warning lines, want 1:\n%s%s", lines, out, errs)
	}
	summaryHas := func(path, sheetName string) {
		t.Helper()
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := f.GetRows(sheetName)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, r := range rows {
			if len(r) >= 3 && strings.Contains(r[0], "warning:") {
				found++
				if r[1] != "300" || r[2] != "rows 2, 3, 4, 5, 6 and 295 more" {
					t.Errorf("%s: warning line %q", filepath.Base(path), r)
				}
			}
		}
		if found != 1 {
			t.Errorf("%s: %d warning lines on %s, want 1", filepath.Base(path), found, sheetName)
		}
	}
	summaryHas(planOut, "Summary")

	resOut := filepath.Join(dir, "june.results.xlsx")
	code, out, errs = runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", ledgerPath, "--out", resOut, sheet)
	if code > ExitAttention {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	if c := strings.Count(out+errs, "warning:"); c != 1 {
		t.Errorf("run printed %d warning lines, want 1", c)
	}
	summaryHas(resOut, "Summary")
}
