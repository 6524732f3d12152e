package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestStatusNamesTheKYCLinkOnce: a payee on a compliance hold. payrun
// status printed the document-upload link twice for the row (inside the
// error and on its own line); once is enough, on its own line.
func TestStatusNamesTheKYCLinkOnce(t *testing.T) {
	dir := t.TempDir()
	sheet := filepath.Join(dir, "s.csv")
	writeFreelancerSheet(t, sheet, "KYC", 196) // ...@kyc-hold.example
	led := filepath.Join(dir, "p.db")
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", led, "--out", filepath.Join(dir, "r.xlsx"), sheet); code != ExitAttention {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	_, status, _ := runIn(t, nil, "status", "--ledger", led)
	link := regexp.MustCompile(`https://sandbox\.masspay\.example/kyc/upload/[0-9a-f-]+`).FindString(status)
	if link == "" {
		t.Fatalf("status names no document-upload link:\n%s", status)
	}
	if n := strings.Count(status, link); n != 1 {
		t.Errorf("status names the link %d times, want once:\n%s", n, status)
	}
	if !strings.Contains(status, "document-upload link: "+link) {
		t.Errorf("status lacks the link's own line:\n%s", status)
	}
}
