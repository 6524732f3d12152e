package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// payrun ledger migrate moves the SQLite ledger of a real sandbox run into
// PostgreSQL: status, report and export then read the same on the URL as on
// the file, and a second migrate into the now non-empty target is refused.
func TestLedgerMigrateToPostgres(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	t.Chdir(dir)
	db := filepath.Join(dir, "payrun.db")
	sheet, results, state := filepath.Join(dir, "june.xlsx"), filepath.Join(dir, "june-results.xlsx"), filepath.Join(dir, "sandbox.json")
	writeRunXLSX(t, sheet, runSheetRows("MG", 5))
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--sandbox-state", state, "--yes", "--ledger", db, "--out", results, sheet); code != ExitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs := runIn(t, nil, "ledger", "migrate", "--from", db, "--to", url)
	if code != ExitOK {
		t.Fatalf("migrate: exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"runs", "events", "run_rows", "console_sessions", "run 1", "Checked:"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate output lacks %q:\n%s", want, out)
		}
	}
	same := func(args ...string) string {
		t.Helper()
		var got [2]string
		for i, loc := range []string{db, url} {
			code, out, errs := runIn(t, nil, append(args, "--ledger", loc)...)
			if code != ExitOK {
				t.Fatalf("%v on %s: exit %d\n%s\n%s", args, loc, code, out, errs)
			}
			got[i] = strings.ReplaceAll(out, loc, "LEDGER")
		}
		if got[0] != got[1] {
			t.Errorf("%v differs:\nfile:\n%s\nURL:\n%s", args, got[0], got[1])
		}
		return got[0]
	}
	if out := same("status"); !strings.Contains(out, "PAID 5") {
		t.Errorf("status shows no paid row:\n%s", out)
	}
	if out := same("ledger", "export"); !strings.Contains(out, "MG-") {
		t.Errorf("export shows no row:\n%s", out)
	}
	fileOut, urlOut := filepath.Join(dir, "file.csv"), filepath.Join(dir, "url.csv") // one file each, compared byte for byte
	for _, r := range [][2]string{{db, fileOut}, {url, urlOut}} {
		if code, out, errs := runIn(t, nil, "report", "--ledger", r[0], "--out", r[1]); code != ExitOK {
			t.Fatalf("report on %s: exit %d\n%s\n%s", r[0], code, out, errs)
		}
	}
	for _, pair := range [][2]string{{fileOut, urlOut}, {filepath.Join(dir, "file.summary.csv"), filepath.Join(dir, "url.summary.csv")}} {
		a, b := readNoGenerated(t, pair[0]), readNoGenerated(t, pair[1])
		if !bytes.Contains(a, []byte("USD")) || !bytes.Equal(a, b) {
			t.Errorf("%s and %s differ or lack the rows:\n%s\n---\n%s", pair[0], pair[1], a, b)
		}
	}

	code, out, errs = runIn(t, nil, "ledger", "migrate", "--from", db, "--to", url)
	if code != ExitAborted || !strings.Contains(errs, "not empty") {
		t.Errorf("second migrate: exit %d, want %d and \"not empty\"\n%s\n%s", code, ExitAborted, out, errs)
	}
}

// migrate refuses a source a running payrun holds, and one written by a
// newer payrun; the target is left empty.
func TestLedgerMigrateRefuses(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "payrun.db")
	ctx := context.Background()
	l, err := ledger.Open(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := l.Lock(ctx, ledger.LockOwner{Command: "payrun run june.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runIn(t, nil, "ledger", "migrate", "--from", db, "--to", url)
	if code != ExitAborted || !strings.Contains(errs, "in use") {
		t.Errorf("locked source: exit %d\n%s\n%s", code, out, errs)
	}
	lk.Release()
	l.Close()

	raw, err := sql.Open("sqlite", db) // the driver ledger registers
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	code, out, errs = runIn(t, nil, "ledger", "migrate", "--from", db, "--to", url)
	if code != ExitAborted || !strings.Contains(errs, "is newer than") {
		t.Errorf("newer source: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runIn(t, nil, "ledger", "migrate", "--from", db, "--to", "other.db")
	if code != ExitUsage {
		t.Errorf("--to a file: exit %d\n%s\n%s", code, out, errs)
	}
}

// readNoGenerated reads a report file without its "Generated," line: the
// time the report was written, which differs between two reports.
func readNoGenerated(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("Generated,")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, nil)
}
