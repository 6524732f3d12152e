package main

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReportOfAnEarlierRunAfterAnOverlappingRun pays a sheet, then a second
// sheet that holds half of the first one's ids again plus new ones, against
// the embedded sandbox; report --run 1 and status --run 1 still show every
// row of the first sheet, and the second run's report only its own.
func TestReportOfAnEarlierRunAfterAnOverlappingRun(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "payrun.db")
	rows := runSheetRows("OVL", 9)
	first, second := filepath.Join(dir, "june.csv"), filepath.Join(dir, "june-rerun.csv")
	writeRunCSV(t, first, rows[:6])   // OVL-0001 .. OVL-0006
	writeRunCSV(t, second, rows[3:9]) // OVL-0004 .. OVL-0009
	for _, sheet := range []string{first, second} {
		code, out, errs := runIn(t, map[string]string{}, "run", "--sandbox", "--yes", "--ledger", ledgerPath,
			"--out", filepath.Join(dir, filepath.Base(sheet)+".results.xlsx"), sheet)
		if code != ExitOK {
			t.Fatalf("run %s: exit %d\nstdout:\n%s\nstderr:\n%s", sheet, code, out, errs)
		}
	}

	ids := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, rows[i-1][0])
		}
		return out
	}
	for _, tc := range []struct {
		run  string
		want []string
	}{{"1", ids(1, 6)}, {"2", ids(4, 9)}} {
		out := filepath.Join(dir, "report-"+tc.run+".csv")
		code, stdout, errs := runIn(t, map[string]string{}, "report", "--ledger", ledgerPath, "--run", tc.run, "--out", out)
		if code != ExitOK {
			t.Fatalf("report --run %s: exit %d\n%s\n%s", tc.run, code, stdout, errs)
		}
		recs := readCSV(t, out)
		var got []string
		for _, r := range recs[1:] {
			got = append(got, r[0])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("report --run %s lists %v, want %v", tc.run, got, tc.want)
		}
		if !strings.Contains(stdout, "(run "+tc.run+", 6 rows") {
			t.Errorf("report --run %s says: %s", tc.run, stdout)
		}
		// Money as payrun run prints it: the currency's decimals, always.
		if !regexp.MustCompile(`\nUSD: paid \d+\.\d\d, fees \d+\.\d\d, not paid \d+\.\d\d`).MatchString(stdout) {
			t.Errorf("report --run %s totals not in USD's two decimals: %s", tc.run, stdout)
		}
	}

	// Rows 1-5 are payouts and 6 a load, whichever run paid them.
	code, out, errs := runIn(t, map[string]string{}, "status", "--ledger", ledgerPath, "--run", "1")
	if code != ExitOK || !strings.Contains(out, "Rows: LOADED 1 · PAID 5\n") {
		t.Errorf("status --run 1: exit %d\n%s\n%s", code, out, errs)
	}
}
