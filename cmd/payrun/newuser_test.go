package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/masspay/sandbox"
)

// TestRefusedInboxTickCreatesNoLedger: an inbox tick refused for want of an
// API key, or for a key MassPay refuses, creates no ledger file in the
// inbox and leaves its sheet in incoming/ for the tick after the fix (never
// filed as failed: the sheet is not at fault).
func TestRefusedInboxTickCreatesNoLedger(t *testing.T) {
	srv, err := sandbox.Start(sandbox.Config{APIKey: "sk_test_right"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		env   map[string]string
		sheet bool
		code  int
	}{
		{"no key, empty inbox", map[string]string{"MASSPAY_ENV": "staging"}, false, ExitUsage},
		{"no key, a sheet", map[string]string{"MASSPAY_ENV": "staging"}, true, ExitUsage},
		{"key refused, empty inbox", map[string]string{"MASSPAY_API_KEY": "sk_test_wrong", "MASSPAY_BASE_URL": srv.URL()}, false, ExitAborted},
		{"key refused, a sheet", map[string]string{"MASSPAY_API_KEY": "sk_test_wrong", "MASSPAY_BASE_URL": srv.URL()}, true, ExitAborted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			box := t.TempDir()
			for _, sub := range inboxFolders {
				os.MkdirAll(filepath.Join(box, sub), 0o750)
			}
			if tc.sheet {
				writeSheet(t, filepath.Join(box, "incoming", "a.csv"), "IBX", 1, 2)
			}
			code, out, errs := runIn(t, tc.env, "inbox", "--once", "--settle", "10ms", box)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			files := tree(t, box)
			for _, f := range files {
				if strings.HasPrefix(filepath.Base(f), "payrun") && strings.Contains(f, ".db") {
					t.Errorf("a refused inbox tick created %s (all: %v)", f, files)
				}
			}
			if tc.sheet && !matchAny("incoming/a.csv", files) {
				t.Errorf("the sheet left incoming/: %v", files)
			}
		})
	}
}

// TestPlanAsksForApprovalOnlyWhenRunNeedsIt: without require_approval,
// payrun plan told a new user "To approve it, someone else runs: payrun
// approve ...", a step payrun run does not need; under require_approval
// the next step it prints waits for that approval.
func TestPlanAsksForApprovalOnlyWhenRunNeedsIt(t *testing.T) {
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.csv")
	writeSheet(t, sheet, "APR", 1, 2)
	env := map[string]string{"PAYRUN_LEDGER": filepath.Join(dir, "payrun-sandbox.db")}
	code, out, errs := runIn(t, env, "plan", sheet, "--sandbox")
	if code != ExitOK {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out, "someone else") || strings.Contains(out, "payrun approve") || !strings.Contains(out, "needs no approval") {
		t.Errorf("plan without require_approval asks for an approval payrun run does not need:\n%s", out)
	}
	env["PAYRUN_REQUIRE_APPROVAL"] = "true"
	code, out, errs = runIn(t, env, "plan", sheet, "--sandbox")
	if code != ExitOK {
		t.Fatalf("plan under require_approval: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "To approve it, someone else runs: payrun approve") || !strings.Contains(out, "once someone else approves plan 2, payrun run ") {
		t.Errorf("plan under require_approval does not say the run waits for approval:\n%s", out)
	}
}

// TestStatusSaysWhatToDoAboutAFailedRow: payrun status listed a FAILED row
// (the demo's load MassPay refused) with its error but no next step, where
// the results' action_needed says what to do; every row it lists has one.
func TestStatusSaysWhatToDoAboutAFailedRow(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	rows := runSheetRows("FLD", 6)
	rows[5][7] = "120.13" // a load; the sandbox refuses cents .13
	sheet := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheet, rows[5:])
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", ledgerPath, sheet); code != ExitAttention {
		t.Fatalf("run: exit %d, want 1\n%s%s", code, out, errs)
	}
	code, out, errs := runIn(t, nil, "status", "--ledger", ledgerPath)
	if code != ExitAttention || !strings.Contains(out, "FLD-0006 [FAILED]") {
		t.Fatalf("status: exit %d, want 1 and the FAILED row\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "      next: "+results.ActionFailed) {
		t.Errorf("status lists the FAILED row without what to do (%q):\n%s", results.ActionFailed, out)
	}
}

// TestInboxCreateSaysWhatItSetUp: the README's setup step, payrun inbox
// --sandbox --create --once DIR, printed nothing at all, and a new user
// could not tell it had worked; it names the folders it set up, once.
func TestInboxCreateSaysWhatItSetUp(t *testing.T) {
	box := filepath.Join(t.TempDir(), "box")
	code, out, errs := runIn(t, nil, "inbox", "--sandbox", "--create", "--once", box)
	if code != ExitOK {
		t.Fatalf("inbox --create: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "Set up inbox "+box) || !strings.Contains(out, filepath.Join(box, "incoming")) {
		t.Errorf("inbox --create does not say what it set up:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(box, "payrun-sandbox.db")); err == nil {
		t.Errorf("setting up the inbox created its ledger before any sheet")
	}
	// Once set up, a tick with nothing to do stays silent for cron.
	if code, out, errs := runIn(t, nil, "inbox", "--sandbox", "--create", "--once", box); code != ExitOK || out != "" {
		t.Errorf("second inbox --create: exit %d, want 0 and no output\n%s%s", code, out, errs)
	}
}

// TestStatusWithoutLedgerIsAUsageError: payrun status or report run where
// there is no ledger (after make demo, in the clone's root) said "open
// ledger payrun.db: stat payrun.db: no such file or directory"; it says
// there is no ledger there and how to name one, exit 2, creating nothing.
func TestStatusWithoutLedgerIsAUsageError(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"status", "report"} {
		code, out, errs := runCLI(t, nil, cmd, "--ledger", filepath.Join(dir, "payrun.db"))
		if code != ExitUsage || !strings.Contains(errs, "no ledger at "+filepath.Join(dir, "payrun.db")) ||
			!strings.Contains(errs, "--ledger") || strings.Contains(errs, "stat ") {
			t.Errorf("%s without a ledger: exit %d, want 2 naming the missing ledger and --ledger\n%s%s", cmd, code, out, errs)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("status without a ledger created %v", ents)
	}
}

// TestNewUsersFilesAreIgnored: after the README's first commands in a
// fresh clone (make demo, payrun plan samples/monthly-freelancers.xlsx
// --sandbox), git status listed the sandbox's state files and the plan
// workbook as new files to commit; every file payrun writes there is
// ignored, and the samples stay tracked.
func TestNewUsersFilesAreIgnored(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ignored := []string{"payrun-sandbox.db", "payrun-sandbox.sandbox.json", "payrun-sandbox.sandbox.json.journal",
		"demo/payrun.sandbox.json", "samples/monthly-freelancers.plan.xlsx", "samples/monthly-freelancers.results.xlsx",
		"samples/crypto-payouts.results.csv", "samples/crypto-payouts.summary.csv", "june.plan.xlsx"}
	for _, p := range ignored {
		cmd := exec.Command("git", "check-ignore", "-q", "--no-index", p)
		cmd.Dir = "../.."
		if err := cmd.Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore (%v)", p, err)
		}
	}
	for _, p := range []string{"samples/monthly-freelancers.xlsx", "samples/crypto-payouts.csv", "samples/payrun.toml"} {
		cmd := exec.Command("git", "check-ignore", "-q", "--no-index", p)
		cmd.Dir = "../.."
		if err := cmd.Run(); err == nil {
			t.Errorf("sample %s is ignored", p)
		}
	}
}

// TestStatusNamesWhereTheResultsAre: after an inbox tick, payrun status
// named the sheet as DIR/incoming/NAME, where it no longer is, and not the
// results; it names the results where the inbox filed them, and when they
// are gone, the command that writes them again.
func TestStatusNamesWhereTheResultsAre(t *testing.T) {
	box := t.TempDir()
	for _, sub := range inboxFolders {
		os.MkdirAll(filepath.Join(box, sub), 0o750)
	}
	writeSheet(t, filepath.Join(box, "incoming", "may.csv"), "STR", 1, 2)
	if code, out, errs := runIn(t, nil, "inbox", "--sandbox", "--once", "--settle", "10ms", box); code != ExitOK {
		t.Fatalf("inbox: exit %d\n%s%s", code, out, errs)
	}
	ledgerPath := filepath.Join(box, "payrun-sandbox.db")
	filed := filepath.Join(box, "done", time.Now().Format("2006-01-02"), "may.results.xlsx")
	code, out, errs := runIn(t, nil, "status", "--ledger", ledgerPath)
	if code != ExitOK || !strings.Contains(out, "Results: "+filed+"\n") {
		t.Errorf("status: exit %d, want 0 and Results: %s\n%s%s", code, filed, out, errs)
	}
	os.Remove(filed)
	_, out, _ = runIn(t, nil, "status", "--ledger", ledgerPath)
	if !strings.Contains(out, "not there now; payrun report --run 1 --ledger "+ledgerPath) {
		t.Errorf("status does not say how to write the missing results again:\n%s", out)
	}
}

// TestPlanOfASheetWithMistakesSaysPlanAgain: payrun plan of a sheet with
// mistakes ended "Fix the cells named above and run again", sending a new
// user to payrun run; it says plan it again (and the inbox's mistakes file
// says to drop the sheet into incoming/ again).
func TestPlanOfASheetWithMistakesSaysPlanAgain(t *testing.T) {
	dir := t.TempDir()
	bad, _ := os.ReadFile("../../samples/mistakes.csv")
	sheet := filepath.Join(dir, "mistakes.csv")
	os.WriteFile(sheet, bad, 0o600)
	code, out, errs := runIn(t, map[string]string{"PAYRUN_LEDGER": filepath.Join(dir, "payrun-sandbox.db")}, "plan", sheet, "--sandbox")
	if code != ExitUsage || !strings.Contains(out+errs, "Fix the cells named above and plan it again.") || strings.Contains(out+errs, "run again") {
		t.Errorf("plan of a sheet with mistakes: exit %d, want 2 and \"plan it again\"\n%s%s", code, out, errs)
	}
	box := t.TempDir()
	for _, sub := range inboxFolders {
		os.MkdirAll(filepath.Join(box, sub), 0o750)
	}
	os.WriteFile(filepath.Join(box, "incoming", "bad.csv"), bad, 0o600)
	runIn(t, nil, "inbox", "--sandbox", "--once", "--settle", "10ms", box)
	why, err := os.ReadFile(filepath.Join(box, "failed", time.Now().Format("2006-01-02"), "bad.mistakes.txt"))
	if err != nil || !strings.Contains(string(why), "drop the sheet into incoming/ again") {
		t.Errorf("the inbox's mistakes file does not say to drop the fixed sheet in again (%v):\n%s", err, why)
	}
}

// TestReportTakesSandboxLikeStatus: after payrun run --sandbox SHEET,
// payrun status --sandbox showed the run but payrun report --sandbox was
// "unknown flag --sandbox" and payrun report looked for payrun.db; report
// reads the sandbox's ledger with --sandbox, as status does.
func TestReportTakesSandboxLikeStatus(t *testing.T) {
	dir := t.TempDir()
	writeSheet(t, filepath.Join(dir, "june.csv"), "RSB", 1, 2)
	t.Chdir(dir)
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "june.csv"); code != ExitOK {
		t.Fatalf("run --sandbox: exit %d\n%s%s", code, out, errs)
	}
	os.Remove("june.results.xlsx")
	if code, out, errs := runIn(t, nil, "status", "--sandbox"); code != ExitOK {
		t.Fatalf("status --sandbox: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := runIn(t, nil, "report", "--sandbox")
	if code != ExitOK || !strings.Contains(out, "Wrote "+filepath.Join(dir, "june.results.xlsx")) {
		t.Fatalf("report --sandbox: exit %d, want 0 and the run's results rewritten\n%s%s", code, out, errs)
	}
	if _, err := os.Stat("payrun.db"); err == nil {
		t.Errorf("report --sandbox created payrun.db")
	}
}
