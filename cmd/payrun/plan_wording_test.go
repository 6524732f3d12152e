package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanDetailsCheckedLaterWording: payrun plan said "the payout details
// of 1 row is checked at run time (their payees are not ...)". The details
// are checked (plural subject) and the payees agree with the row count.
func TestPlanDetailsCheckedLaterWording(t *testing.T) {
	for _, tc := range []struct {
		rows int
		want string
	}{
		{1, "the payout details of 1 row are checked at run time (its payee is not at MassPay yet)"},
		{2, "the payout details of 2 rows are checked at run time (their payees are not at MassPay yet)"},
	} {
		dir := t.TempDir()
		sheet := filepath.Join(dir, "june.csv")
		rows := runSheetRows("PW", 2) // two payouts of payees new to MassPay
		writeRunCSV(t, sheet, rows[:tc.rows])
		code, out, errs := runIn(t, nil, "plan", "--sandbox", "--ledger", filepath.Join(dir, "payrun.db"), sheet)
		if code != ExitOK || !strings.Contains(out, tc.want) {
			t.Errorf("plan of %d new payees: exit %d, want %q in\n%s\n%s", tc.rows, code, tc.want, out, errs)
		}
	}
}
