package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLedgerArchiveThenReportAndStatus: a paid run archived with payrun
// ledger archive leaves the working ledger, lands in a 0600 archive whose
// path is printed, and payrun status and report --run still read it.
func TestLedgerArchiveThenReportAndStatus(t *testing.T) {
	dir := t.TempDir()
	sheet, ledgerPath := writeBenchSheet(t, dir, 12), filepath.Join(dir, "payrun.db")
	sb := startCountingSandbox(t)
	if code, _, stderr := runIn(t, sb.env(), "run", "--yes", "--ledger", ledgerPath, "--out", filepath.Join(dir, "r1.csv"), sheet); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	tomorrow := time.Now().AddDate(0, 0, 1).Format("2006-01-02")
	code, stdout, stderr := runIn(t, nil, "ledger", "archive", "--ledger", ledgerPath, "--before", tomorrow)
	if code != 0 {
		t.Fatalf("ledger archive: exit %d\n%s%s", code, stdout, stderr)
	}
	arcPath := filepath.Join(dir, "payrun-archive.db")
	if !strings.Contains(stdout, "Archive: "+arcPath) || !strings.Contains(stdout, "Archived 1 runs (1)") {
		t.Errorf("ledger archive output does not name run 1 and %s:\n%s", arcPath, stdout)
	}
	if fi, err := os.Stat(arcPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive %s: %v, %v; want mode 0600", arcPath, fi, err)
	}
	code, stdout, stderr = runIn(t, nil, "status", "--ledger", ledgerPath, "--run", "1")
	if code != 0 || !strings.Contains(stdout, "Run 1 of") || !strings.Contains(stdout, "PAID") {
		t.Errorf("status --run 1 after archiving: exit %d\n%s%s", code, stdout, stderr)
	}
	out := filepath.Join(dir, "again.csv")
	code, stdout, stderr = runIn(t, nil, "report", "--ledger", ledgerPath, "--run", "1", "--out", out)
	if code != 0 {
		t.Fatalf("report --run 1 after archiving: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := len(readCSV(t, out)); got < 13 {
		t.Errorf("report of the archived run holds %d lines, want the header and 12 rows", got)
	}
	// Nothing is left to move.
	if code, stdout, _ = runIn(t, nil, "ledger", "archive", "--ledger", ledgerPath, "--before", tomorrow); code != 0 || !strings.Contains(stdout, "No run to archive") {
		t.Errorf("second archive: exit %d\n%s", code, stdout)
	}
}
