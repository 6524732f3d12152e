package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIMoneyGroupsThousands: the CLI printed 3500.35 where the results
// workbook (#,##0.00) and the console show 3,500.35. Finance reads amounts
// grouped, so run, status and report print them the way the other two do.
func TestCLIMoneyGroupsThousands(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "payrun.db")
	rows := runSheetRows("GRP", 2)
	rows[0][7], rows[1][7] = "1500.25", "2000.10" // both USD-funded payouts
	sheetPath := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheetPath, rows)
	code, out, errs := runIn(t, map[string]string{}, "run", "--sandbox", "--yes", "--ledger", ledgerPath,
		"--out", filepath.Join(dir, "june.results.xlsx"), sheetPath)
	if code != ExitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	all := out + errs
	for _, want := range []string{"USD: 3,500.35 requested", "balance 1,000,000.00", "USD: paid 3,500.35"} {
		if !strings.Contains(all, want) {
			t.Errorf("payrun run does not print %q:\n%s", want, all)
		}
	}
	if code, out, errs := runIn(t, map[string]string{}, "status", "--ledger", ledgerPath); !strings.Contains(out, "Paid USD by this run: 3,500.35") {
		t.Errorf("status: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, errs := runIn(t, map[string]string{}, "report", "--ledger", ledgerPath, "--out", filepath.Join(dir, "r.xlsx")); !strings.Contains(out, "USD: paid 3,500.35") {
		t.Errorf("report: exit %d\n%s\n%s", code, out, errs)
	}
}
