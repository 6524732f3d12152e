package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A ledger file emptied (a failed copy, a truncation) is a lost ledger:
// payrun run and payrun status exit 3 and say so, and nothing is paid. It
// used to be taken for a new ledger, which would pay the sheet again.
func TestEmptyLedgerFileIsLost(t *testing.T) {
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheet, runSheetRows("LOST", 2))
	ledgerPath := filepath.Join(dir, "payrun.db")
	if err := os.WriteFile(ledgerPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"run", "--sandbox", "--yes", "--ledger", ledgerPath, sheet},
		{"status", "--ledger", ledgerPath},
	} {
		code, out, errs := runIn(t, map[string]string{}, args...)
		if code != ExitAborted || !strings.Contains(errs, "ledger file is empty") {
			t.Errorf("payrun %s on an empty ledger file: exit %d, want %d\n%s\n%s", args[0], code, ExitAborted, out, errs)
		}
	}
	if fi, err := os.Stat(ledgerPath); err != nil || fi.Size() != 0 {
		t.Errorf("the empty ledger file was written: %v, %v", fi, err)
	}
}
