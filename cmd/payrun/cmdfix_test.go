package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/ledger"
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

// consoleUser is one person's cookie jar against a console payrun serve
// started; it does not follow redirects, so the test sees each answer.
type consoleUser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfValue = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (u *consoleUser) read(resp *http.Response, err error) (*http.Response, string) {
	u.t.Helper()
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfValue.FindSubmatch(b); m != nil {
		u.csrf = string(m[1])
	}
	return resp, string(b)
}

func (u *consoleUser) get(path string) (*http.Response, string) {
	u.t.Helper()
	return u.read(u.c.Get(u.base + path))
}

func (u *consoleUser) post(path string, form url.Values) (*http.Response, string) {
	u.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", u.csrf)
	return u.read(u.c.PostForm(u.base+path, form))
}

// signInConsole signs name in to the console at base.
func signInConsole(t *testing.T, base, name, password string) *consoleUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &consoleUser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	u.get("/signin")
	if resp, body := u.post("/signin", url.Values{"name": {name}, "password": {password}, "next": {"/"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d\n%s", name, resp.StatusCode, body)
	}
	u.get("/")
	return u
}

// consoleRun pays sheet through a console that payrun serve --sandbox
// serves over ledgerPath, as a preparer and an approver would, and returns
// when the run has ended and serve has stopped.
func consoleRun(t *testing.T, ledgerPath, sheet string) {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("a long passphrase\n"), 0o600)
	for _, u := range [][]string{{"preparer", "alice"}, {"approver", "bob"}} {
		if code, out, errs := runIn(t, nil, "user", "add", "--ledger", ledgerPath, "--role", u[0], "--password-file", pw, u[1]); code != ExitOK {
			t.Fatalf("user add %s: exit %d\n%s%s", u[1], code, out, errs)
		}
	}
	out := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--sandbox", "--ledger", ledgerPath, "--listen", "127.0.0.1:0"})
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Fatal("serve did not stop")
		}
	}()
	listening := regexp.MustCompile(`payrun console: (http://127\.0\.0\.1:\d+)/`)
	var match []string
	for deadline := time.Now().Add(20 * time.Second); match == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no URL:\n%s", out.String())
		}
		match = listening.FindStringSubmatch(out.String())
	}
	alice := signInConsole(t, match[1], "alice", "a long passphrase")
	content, err := os.ReadFile(sheet)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", alice.csrf)
	fw, _ := mw.CreateFormFile("sheet", filepath.Base(sheet))
	fw.Write(content)
	mw.Close()
	resp, body := alice.read(alice.c.Post(alice.base+"/upload", mw.FormDataContentType(), &buf))
	plan := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(plan, "/plans/") {
		t.Fatalf("upload: %d to %q\n%s", resp.StatusCode, plan, body)
	}
	bob := signInConsole(t, match[1], "bob", "a long passphrase")
	bob.get(plan)
	if resp, body := bob.post(plan+"/approve", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", resp.StatusCode, body)
	}
	alice.get(plan)
	resp, body = alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run: %d\n%s", resp.StatusCode, body)
	}
	run := resp.Header.Get("Location")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, body := alice.get(run + "/progress")
		var p struct{ Running bool }
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("progress: %v\n%s", err, body)
		}
		if !p.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("console run still running after 60s")
		}
	}
}

// TestReportOfAConsoleRunWritesWhereTheConsoleDid: a run started from the
// console records where the console wrote its results, and payrun report
// --run N without --out writes there, not beside the uploaded sheet (the
// console's uploads folder).
func TestReportOfAConsoleRunWritesWhereTheConsoleDid(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "payrun-sandbox.db")
	sheet := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheet, runSheetRows("CON", 3))
	consoleRun(t, ledgerPath, sheet)

	results := filepath.Join(dir, "payrun-sandbox.console", "results", "run-1.results.xlsx")
	if _, err := os.Stat(results); err != nil {
		t.Fatalf("the console wrote no results at %s: %v", results, err)
	}
	os.Remove(results)
	before := tree(t, dir)
	code, out, errs := runIn(t, nil, "report", "--run", "1", "--ledger", ledgerPath)
	if code != ExitOK {
		t.Fatalf("report: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(results); err != nil || !strings.Contains(out, "Wrote "+results) {
		t.Errorf("report did not write the console's results %s (%v):\n%s", results, err, out)
	}
	if _, err := os.Stat("june.results.xlsx"); err == nil {
		os.Remove("june.results.xlsx")
		t.Errorf("report wrote june.results.xlsx into its working directory")
	}
	for _, f := range tree(t, dir) {
		if !matchAny(f, before) && f != filepath.ToSlash(strings.TrimPrefix(results, dir+"/")) {
			t.Errorf("report wrote %s", f)
		}
	}
}

// TestReportNeverWritesIntoInboxIncoming: payrun report of a run whose
// sheet lies in an inbox's incoming folder (a run recorded by an older
// payrun, which noted no results path, or a run by hand there) writes into
// DIR/results, not into incoming where the next tick would take the
// workbook for a sheet; --out into incoming is refused with a hint.
func TestReportNeverWritesIntoInboxIncoming(t *testing.T) {
	ctx := context.Background()
	box := t.TempDir()
	if code, out, errs := runIn(t, nil, "inbox", "--sandbox", "--create", "--once", "--settle", "10ms", box); code != ExitOK {
		t.Fatalf("inbox --create: exit %d\n%s%s", code, out, errs)
	}
	incoming := filepath.Join(box, "incoming")
	ledgerPath := filepath.Join(box, "payrun-sandbox.db")

	// Run 1, as an older payrun recorded it: the sheet's path in
	// incoming, no results path.
	old := filepath.Join(incoming, "old.csv")
	writeSheet(t, old, "OLD", 1, 2)
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum, _ := batch.FileSHA256(old)
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: old, SheetSHA256: sum, Operator: "test", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := batch.RecordSheet(ctx, l, run.ID, old, batch.IngestOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.FinishRun(ctx, run.ID, ledger.RunFinish{Status: ledger.RunAborted}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	os.Remove(old)

	// Run 2, by hand on a sheet in incoming: its results were written
	// (and recorded) there.
	hand := filepath.Join(incoming, "hand.csv")
	writeSheet(t, hand, "HAND", 3)
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", ledgerPath, hand); code != ExitOK {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	os.Remove(hand)
	os.Remove(filepath.Join(incoming, "hand.results.xlsx"))

	for _, tc := range []struct {
		run, want string
	}{{"1", "old.results.xlsx"}, {"2", "hand.results.xlsx"}} {
		code, out, errs := runIn(t, nil, "report", "--ledger", ledgerPath, "--run", tc.run)
		if code != ExitOK {
			t.Fatalf("report --run %s: exit %d\n%s%s", tc.run, code, out, errs)
		}
		want := filepath.Join(box, "results", tc.want)
		if _, err := os.Stat(want); err != nil || !strings.Contains(out, "Wrote "+want) {
			t.Errorf("report --run %s did not write %s (%v):\n%s", tc.run, want, err, out)
		}
	}
	if ents, _ := os.ReadDir(incoming); len(ents) != 0 {
		t.Errorf("report wrote into incoming: %v", ents)
	}
	code, out, errs := runCLI(t, nil, "report", "--ledger", ledgerPath, "--run", "2", "--out", filepath.Join(incoming, "x.results.xlsx"))
	if code != ExitUsage || !strings.Contains(errs, "--out "+filepath.Join(box, "results", "x.results.xlsx")) {
		t.Errorf("report --out into incoming: exit %d, want 2 and a hint to --out DIR/results/...\n%s%s", code, out, errs)
	}
	if ents, _ := os.ReadDir(incoming); len(ents) != 0 {
		t.Errorf("report --out wrote into incoming: %v", ents)
	}
}

// TestInboxSetsResultsFilesAside: results workbooks and CSVs found in
// incoming are moved aside with a line saying why and never paid; the
// sheet beside them is paid as usual.
func TestInboxSetsResultsFilesAside(t *testing.T) {
	box := t.TempDir()
	for _, sub := range inboxFolders {
		os.MkdirAll(filepath.Join(box, sub), 0o750)
	}
	incoming := filepath.Join(box, "incoming")
	ledgerPath := filepath.Join(box, "payrun-sandbox.db")
	// Real results files of a paid sheet, as report would have left them.
	paid := filepath.Join(t.TempDir(), "march.csv")
	writeSheet(t, paid, "RES", 1, 2)
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", filepath.Join(t.TempDir(), "other.db"), "--out", filepath.Join(incoming, "march.results.xlsx"), paid); code != ExitOK {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	os.WriteFile(filepath.Join(incoming, "april.results.csv"), []byte("client_transfer_id,result\nRES-0001,PAID\n"), 0o600)
	writeSheet(t, filepath.Join(incoming, "june.csv"), "JUN", 3)

	code, out, errs := runIn(t, nil, "inbox", "--sandbox", "--once", "--settle", "10ms", box)
	if code != ExitOK {
		t.Fatalf("inbox: exit %d\n%s%s", code, out, errs)
	}
	files := tree(t, box)
	for _, want := range []string{"ignored/*/march.results.xlsx", "ignored/*/april.results.csv", "done/*/june.csv", "done/*/june.results.xlsx"} {
		if !matchAny(want, files) {
			t.Errorf("no %s among %v", want, files)
		}
	}
	for _, name := range []string{"march.results.xlsx", "april.results.csv"} {
		if !strings.Contains(out, name+": a results file, not a sheet to pay") {
			t.Errorf("no line says why %s was moved aside:\n%s", name, out)
		}
	}
	if strings.Contains(out, "== march") || strings.Contains(out, "== april") {
		t.Errorf("a results file was run as a sheet:\n%s", out)
	}
	l, err := ledger.Open(context.Background(), ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	latest, err := l.LatestRun(context.Background())
	if err != nil || latest.ID != 1 {
		t.Errorf("the inbox ran %d runs (%v), want 1 (june.csv only)", latest.ID, err)
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
	if !strings.Contains(out, "      next: "+batch.ActionFailed) {
		t.Errorf("status lists the FAILED row without what to do (%q):\n%s", batch.ActionFailed, out)
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
