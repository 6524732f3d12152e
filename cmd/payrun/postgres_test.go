package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// payrun run and status work with --ledger postgres://...: the sheet is paid
// once, a re-run pays nothing more, and nothing is made on disk for the URL
// (before, run created the folder "postgres:" for the ledger's "directory").
func TestRunOnPostgresLedger(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	t.Chdir(dir)
	sheet, results, state := filepath.Join(dir, "june.xlsx"), filepath.Join(dir, "june-results.xlsx"), filepath.Join(dir, "sandbox.json")
	writeRunXLSX(t, sheet, runSheetRows("PG", 6))
	for range 2 {
		code, out, errs := runIn(t, map[string]string{}, "run", "--sandbox", "--sandbox-state", state, "--yes", "--ledger", url, "--out", results, sheet)
		if code != ExitOK {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
	}
	sb, err := sandbox.New(sandbox.Config{APIKey: sandbox.DefaultAPIKey, StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	audit := sb.Audit()
	sb.Close()
	rows := checkPaidOnce(t, audit, url, results)
	n := map[ledger.State]int{}
	for _, r := range rows {
		n[r.State]++
	}
	if n[ledger.StatePaid]+n[ledger.StateLoaded] != 6 {
		t.Errorf("states %v, want 6 paid or loaded", n)
	}
	code, out, errs := runIn(t, nil, "status", "--ledger", url)
	if code != ExitOK || !strings.Contains(out, "PAID") {
		t.Errorf("status: exit %d\n%s\n%s", code, out, errs)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "postgres*")); len(m) != 0 {
		t.Errorf("files made for the URL: %v", m)
	}
}
