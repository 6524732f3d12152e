package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The results of payrun run and payrun report are 0600 unless
// --results-mode asks otherwise; a bad mode is a usage error.
func TestResultsModeFlag(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "payrun.db")
	sheet := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheet, runSheetRows("MODE", 2))
	out := filepath.Join(dir, "june.results.xlsx")
	if code, o, e := runIn(t, map[string]string{}, "run", "--sandbox", "--yes", "--ledger", ledgerPath, "--out", out, sheet); code != ExitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, o, e)
	}
	perm := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	if perm(out) != 0o600 {
		t.Errorf("run's results: mode %v, want 0600", perm(out))
	}
	shared := filepath.Join(dir, "shared.xlsx")
	if code, o, e := runIn(t, map[string]string{}, "report", "--ledger", ledgerPath, "--results-mode", "0640", "--out", shared); code != ExitOK {
		t.Fatalf("report: exit %d\n%s\n%s", code, o, e)
	}
	if perm(shared) != 0o640 {
		t.Errorf("report --results-mode 0640: mode %v", perm(shared))
	}
	if code, _, _ := runIn(t, map[string]string{}, "report", "--ledger", ledgerPath, "--results-mode", "0999", "--out", shared); code != ExitUsage {
		t.Errorf("--results-mode 0999: exit %d, want %d", code, ExitUsage)
	}
}
