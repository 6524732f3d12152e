package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestReportOutDashIsStdout: payrun report --out - wrote a file named "-"
// in the current directory. A finance user piping it into another tool
// expects the rows on standard output: CSV by default, the workbook with
// --format xlsx, refused (usage) when standard output is a terminal.
func TestReportOutDashIsStdout(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	ledgerPath := filepath.Join(dir, "payrun.db")
	sheet := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheet, runSheetRows("DASH", 4))
	if code, out, errs := runIn(t, map[string]string{}, "run", "--sandbox", "--yes", "--ledger", ledgerPath, sheet); code != ExitOK {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errs)
	}
	noDashFile := func(what string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
			t.Fatalf("%s wrote a file named -", what)
		}
	}

	code, stdout, errs := runIn(t, map[string]string{}, "report", "--ledger", ledgerPath, "--run", "1", "--out", "-")
	noDashFile("report --out -")
	if code != ExitOK {
		t.Fatalf("report --out -: exit %d\n%s\n%s", code, stdout, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(stdout, "\ufeff"))).ReadAll()
	if err != nil || len(recs) != 5 || recs[1][0] != "DASH-0001" {
		t.Fatalf("report --out - printed not the 4 rows as CSV (%v):\n%s", err, stdout)
	}
	if !strings.Contains(errs, "(run 1, 4 rows") || strings.Contains(stdout, "Wrote") {
		t.Errorf("the story of the report belongs on stderr, the rows alone on stdout:\nstdout:\n%s\nstderr:\n%s", stdout, errs)
	}

	code, stdout, errs = runIn(t, map[string]string{}, "report", "--ledger", ledgerPath, "--run", "1", "--out", "-", "--format", "xlsx")
	noDashFile("report --out - --format xlsx")
	if code != ExitOK {
		t.Fatalf("report --out - --format xlsx: exit %d\n%s", code, errs)
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(stdout)))
	if err != nil {
		t.Fatalf("report --out - --format xlsx printed no workbook: %v", err)
	}
	f.Close()

	tty := openTerminal(t)
	var errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: tty, Stderr: &errb, Getenv: func(string) string { return "" }}
	err = m.Run(context.Background(), []string{"report", "--ledger", ledgerPath, "--run", "1", "--out", "-", "--format", "xlsx"})
	noDashFile("report --out - --format xlsx to a terminal")
	if ExitCode(err) != ExitUsage || err == nil || !strings.Contains(err.Error()+errb.String(), "terminal") {
		t.Fatalf("a workbook to a terminal: exit %d, %v\n%s", ExitCode(err), err, errb.String())
	}
}
