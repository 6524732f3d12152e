package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTotalsPrintedOneWay: run and status print every total plain
// (2851.06), as their "paid" and "requested" lines do; the "already paid
// earlier" line of a re-run grouped thousands (2,851.06 USD).
func TestTotalsPrintedOneWay(t *testing.T) {
	dir := t.TempDir()
	sheet := filepath.Join(dir, "s.csv")
	writeSheet(t, sheet, "TOT", 1, 2) // 1711.01 + 1140.05 USD
	led := filepath.Join(dir, "p.db")
	for i := 1; i <= 2; i++ {
		code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", led, "--out", filepath.Join(dir, "r.xlsx"), sheet)
		if code != 0 {
			t.Fatalf("run %d: exit %d\n%s%s", i, code, out, errs)
		}
		if i == 2 {
			checkPlainTotals(t, "run 2", out)
		}
	}
	_, status, _ := runIn(t, nil, "status", "--ledger", led)
	checkPlainTotals(t, "status", status)
}

var groupedAmount = regexp.MustCompile(`\d,\d{3}(\.\d+)?\b`)

func checkPlainTotals(t *testing.T, what, out string) {
	t.Helper()
	if !strings.Contains(out, "already paid earlier: 2 rows, 2851.06 USD") {
		t.Errorf("%s lacks the plain total already paid earlier:\n%s", what, out)
	}
	if m := groupedAmount.FindString(out); m != "" {
		t.Errorf("%s prints %q with a thousands separator; its other totals are plain:\n%s", what, m, out)
	}
}
