package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTotalsPrintedOneWay: run and status print every total one way. Once
// the "already paid earlier" line grouped thousands (2,851.06 USD) beside
// plain "requested" totals (2851.06); now every total is grouped, as the
// results workbook and the console show amounts (TestCLIMoneyGroupsThousands).
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
			checkGroupedTotals(t, "run 2", out)
		}
	}
	_, status, _ := runIn(t, nil, "status", "--ledger", led)
	checkGroupedTotals(t, "status", status)
}

// plainAmount is an amount of four or more whole digits without a
// thousands separator.
var plainAmount = regexp.MustCompile(`\b\d{4,}\.\d+\b`)

func checkGroupedTotals(t *testing.T, what, out string) {
	t.Helper()
	if !strings.Contains(out, "already paid earlier: 2 rows, 2,851.06 USD") {
		t.Errorf("%s lacks the grouped total already paid earlier:\n%s", what, out)
	}
	if m := plainAmount.FindString(out); m != "" {
		t.Errorf("%s prints %q without a thousands separator; its other totals are grouped:\n%s", what, m, out)
	}
}
