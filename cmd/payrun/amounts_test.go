package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanDecimalMark: "1,500" is a mistake naming both readings until
// --decimal-mark (or decimal_mark in payrun.toml) says which.
func TestPlanDecimalMark(t *testing.T) {
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.csv")
	os.WriteFile(sheet, []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\r\n"+
		"DM-1,u-dm-1,Ana,Silva,ana.dm@example.com,USA,\"1,500\"\r\n"), 0o600)
	ledgerPath := filepath.Join(dir, "payrun.db")
	code, out, errs := runIn(t, nil, "plan", "--sandbox", "--ledger", ledgerPath, sheet)
	errs = out + errs // human lines go to stdout when stderr is no terminal
	if code != ExitUsage || !strings.Contains(errs, "1500") || !strings.Contains(errs, "1.5") || !strings.Contains(errs, `row 2, column "amount"`) {
		t.Fatalf("plan without a mark: exit %d\n%s", code, errs)
	}
	code, out, errs = runIn(t, nil, "plan", "--sandbox", "--ledger", ledgerPath, "--decimal-mark", ".", sheet)
	if code != ExitOK || !strings.Contains(out+errs, "USD: 1,500.00 requested") {
		t.Fatalf("plan --decimal-mark .: exit %d\n%s\n%s", code, out, errs)
	}
	cfg := filepath.Join(dir, "payrun.toml")
	os.WriteFile(cfg, []byte("decimal_mark = \",\"\n"), 0o600)
	code, out, errs = runIn(t, map[string]string{"PAYRUN_CONFIG": cfg}, "plan", "--sandbox", "--ledger", ledgerPath, sheet)
	if code != ExitOK || !strings.Contains(out+errs, "USD: 1.50 requested") {
		t.Fatalf("plan with decimal_mark = \",\": exit %d\n%s\n%s", code, out, errs)
	}
	if code, _, errs = runIn(t, nil, "plan", "--sandbox", "--ledger", ledgerPath, "--decimal-mark", ";", sheet); code != ExitUsage || !strings.Contains(errs, "--decimal-mark") {
		t.Fatalf("plan --decimal-mark ';': exit %d\n%s", code, errs)
	}
}
