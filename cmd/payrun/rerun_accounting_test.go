package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestRerunOfSampleReportsOnlyWhatItMoved: the sample sheet paid once, then
// run again as finance would (same sheet, same ledger). Run 2 moves nothing:
// its closing summary, payrun status and the results' Summary sheet must say
// it paid 0.00 and name what run 1 had already paid, instead of showing run
// 1's 200 rows again as if paid twice (issue 20, finding 3).
func TestRerunOfSampleReportsOnlyWhatItMoved(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../../samples/monthly-freelancers.csv")
	if err != nil {
		t.Fatal(err)
	}
	sheet := filepath.Join(dir, "june.csv")
	if err := os.WriteFile(sheet, src, 0o600); err != nil {
		t.Fatal(err)
	}
	led := filepath.Join(dir, "pay.db")
	run := func(out string) string {
		t.Helper()
		code, stdout, stderr := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", led, "--out", filepath.Join(dir, out), sheet)
		if code != ExitAttention { // the sample keeps rows that need a person
			t.Fatalf("run: exit %d\n%s%s", code, stdout, stderr)
		}
		return stdout
	}
	first := run("r1.xlsx")
	if !strings.Contains(first, "Run 1:") || strings.Contains(first, "already paid earlier") {
		t.Fatalf("first run's summary:\n%s", first)
	}
	second := run("r2.xlsx")
	for _, want := range []string{"Run 2:", "USD: paid 0.00,", "already paid earlier: ", "in run 1"} {
		if !strings.Contains(second, want) {
			t.Errorf("second run's summary lacks %q:\n%s", want, second)
		}
	}
	_, status, _ := runIn(t, nil, "status", "--ledger", led, "--run", "2")
	if !strings.Contains(status, "Paid USD by this run: 0.00") || !strings.Contains(status, "already paid earlier: ") {
		t.Errorf("status of run 2 does not separate what it paid from what run 1 paid:\n%s", status)
	}
	_, status1, _ := runIn(t, nil, "status", "--ledger", led, "--run", "1")
	if strings.Contains(status1, "Paid USD by this run: 0.00") || strings.Contains(status1, "already paid earlier") {
		t.Errorf("status of run 1 lost what it paid:\n%s", status1)
	}
	summary := readSummary(t, filepath.Join(dir, "r2.xlsx"))
	if !strings.Contains(summary, "Settled before this run|already paid earlier: ") || !strings.Contains(summary, "Paid or loaded by this run|0") {
		t.Errorf("run 2's Summary sheet does not say it paid nothing and what was paid before:\n%s", summary)
	}
}

// TestInboxFilesSettledSheetAsNothingToPay: a sheet paid in full and then
// dropped into the inbox again is filed as "nothing to pay", not "done" as if
// it were paid a second time.
func TestInboxFilesSettledSheetAsNothingToPay(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "incoming")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	writeSheet(t, filepath.Join(in, "a.csv"), "A", 1, 2, 3)
	code, out, errs := runIn(t, nil, "inbox", dir, "--sandbox", "--once", "--settle", "50ms")
	if code != 0 || !strings.Contains(out, "a.csv: done") {
		t.Fatalf("first drop: exit %d\n%s%s", code, out, errs)
	}
	writeSheet(t, filepath.Join(in, "a.csv"), "A", 1, 2, 3)
	code, out, errs = runIn(t, nil, "inbox", dir, "--sandbox", "--once", "--settle", "50ms")
	if code != 0 {
		t.Fatalf("second drop: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "a.csv: nothing to pay") || !strings.Contains(out, "1 nothing to pay") {
		t.Errorf("the re-dropped settled sheet is not filed as nothing to pay:\n%s", out)
	}
	if files := tree(t, dir); !matchAny("nothing-to-pay/*/a.csv", files) {
		t.Errorf("no nothing-to-pay/*/a.csv among %v", files)
	}
}

// readSummary reads a results workbook's Summary sheet as lines of cells
// joined by "|" (excelize, the real file).
func readSummary(t *testing.T, path string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Summary")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "|") + "\n")
	}
	return b.String()
}

// TestPlanNamesSampleRowMissingSortCode: once MassPay knows a payee (an
// earlier month), payrun plan of the sample sheet names row 2026-06-FL-0197
// and its missing sort code, as the run would find it, and does not say the
// sheet can be paid (issue 20, finding 4).
func TestPlanNamesSampleRowMissingSortCode(t *testing.T) {
	dir := t.TempDir()
	led := filepath.Join(dir, "pay.db")
	earlier := filepath.Join(dir, "may.csv")
	writeSheet(t, earlier, "MAY", 1)
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", led, earlier); code != 0 {
		t.Fatalf("earlier month: exit %d\n%s%s", code, out, errs)
	}
	sample, _ := filepath.Abs("../../samples/monthly-freelancers.csv")
	code, out, errs := runIn(t, nil, "plan", "--sandbox", "--ledger", led, "--out", filepath.Join(dir, "plan.xlsx"), sample)
	if code != ExitAttention {
		t.Errorf("plan: exit %d, want 1 (a row will need details)", code)
	}
	if !strings.Contains(out+errs, "2026-06-FL-0197") || !strings.Contains(out+errs, "Sort code (column attr:BankCode)") {
		t.Errorf("plan does not name row 0197's missing sort code:\n%s%s", out, errs)
	}
	if strings.Contains(out, "The sheet can be paid") {
		t.Errorf("plan says the sheet can be paid:\n%s", out)
	}
}

// TestPlanOfPaidSheetDoesNotSayToPay: the plan of a sheet an earlier run
// paid shows its figures as the whole sheet's ("In the sheet: "), not
// as "To pay: ..." beside "a run pays only the rest (0 rows)".
func TestPlanOfPaidSheetDoesNotSayToPay(t *testing.T) {
	dir := t.TempDir()
	led := filepath.Join(dir, "pay.db")
	sheet := filepath.Join(dir, "may.csv")
	writeSheet(t, sheet, "MAY", 3)
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", led, sheet); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	_, out, errs := runIn(t, nil, "plan", "--sandbox", "--ledger", led, "--out", filepath.Join(dir, "plan.xlsx"), sheet)
	if strings.Contains(out+errs, "To pay:") || !strings.Contains(out+errs, "In the sheet: ") || !strings.Contains(out, "already paid earlier") {
		t.Errorf("plan of a paid sheet:\n%s%s", errs, out)
	}
}
