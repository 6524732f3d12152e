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
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/ledger"
)

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
	sum, _ := ingest.FileSHA256(old)
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: old, SheetSHA256: sum, Operator: "test", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RecordSheet(ctx, l, run.ID, old, ingest.IngestOptions{}, nil); err != nil {
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

// TestReportOfAnOlderConsoleRun: a console run recorded before runs noted
// their results has a bare upload name for its sheet, so report wrote
// ./june.results.xlsx into whatever folder it ran in; it writes into the
// console's results folder beside the ledger instead.
func TestReportOfAnOlderConsoleRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "payrun.db")
	results := filepath.Join(dir, "payrun.console", "results")
	os.MkdirAll(results, 0o700)
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: "june.csv", SheetSHA256: strings.Repeat("ab", 32), Operator: "alice (console)", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.FinishRun(ctx, run.ID, ledger.RunFinish{Status: ledger.RunFinished}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	code, out, errs := runIn(t, nil, "report", "--ledger", ledgerPath, "--run", "1")
	want := filepath.Join(results, "run-1.results.xlsx")
	if _, err := os.Stat("june.results.xlsx"); err == nil {
		os.Remove("june.results.xlsx")
		t.Errorf("report wrote june.results.xlsx into its working directory")
	}
	if code != ExitOK || !strings.Contains(out, "Wrote "+want) {
		t.Errorf("report of an older console run: exit %d, want 0 and %s\n%s%s", code, want, out, errs)
	}
}
