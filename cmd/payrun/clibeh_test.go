package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// runCLI is runIn that also prints a usage error's hint, as main does.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), args)
	if err != nil && !errors.Is(err, errSilent) {
		errb.Write([]byte("payrun: " + err.Error() + "\n"))
		var ue *UsageError
		if errors.As(err, &ue) && ue.Hint != "" {
			errb.Write([]byte("Try: " + ue.Hint + "\n"))
		}
	}
	return ExitCode(err), out.String(), errb.String()
}

// TestInboxRefusesMissingFolder: a mistyped inbox folder in a crontab is a
// usage error naming the folder, and nothing is created; --create sets the
// folder up once.
func TestInboxRefusesMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nonexistent", "box")
	code, out, errs := runCLI(t, nil, "inbox", "--sandbox", "--once", "--settle", "10ms", dir)
	if code != ExitUsage {
		t.Fatalf("inbox on a missing folder: exit %d, want 2\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, filepath.Join(dir, "incoming")) || !strings.Contains(errs, "--create") {
		t.Errorf("the error does not name the folder and --create:\n%s", errs)
	}
	if _, err := os.Stat(filepath.Dir(dir)); !os.IsNotExist(err) {
		t.Errorf("a refused inbox created %s (%v)", filepath.Dir(dir), err)
	}
	// An existing folder without incoming/ (the inbox's parent, say) is
	// refused the same way.
	parent := t.TempDir()
	if code, _, errs := runIn(t, nil, "inbox", "--sandbox", "--once", "--settle", "10ms", parent); code != ExitUsage {
		t.Fatalf("inbox on a folder without incoming/: exit %d, want 2\n%s", code, errs)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("a refused inbox left %v in %s", ents, parent)
	}
	code, out, errs = runIn(t, nil, "inbox", "--sandbox", "--once", "--create", "--settle", "10ms", dir)
	if code != 0 {
		t.Fatalf("inbox --create: exit %d\n%s%s", code, out, errs)
	}
	for _, sub := range []string{"incoming", "done", "failed"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || !st.IsDir() {
			t.Errorf("--create made no %s: %v", sub, err)
		}
	}
}

// TestRefusedRunCreatesNoLedger: a run refused before it starts (no key, no
// environment, a key MassPay refuses, a sheet with mistakes) leaves no
// ledger file behind, so the next try does not find a stray payrun.db.
func TestRefusedRunCreatesNoLedger(t *testing.T) {
	srv, err := sandbox.Start(sandbox.Config{APIKey: "sk_test_right"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	good := filepath.Join(t.TempDir(), "good.csv")
	writeSheet(t, good, "NL", 1, 2)
	bad, _ := os.ReadFile("../../samples/mistakes.csv")
	badSheet := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(badSheet, bad, 0o600)
	for _, tc := range []struct {
		name  string
		env   map[string]string
		args  []string
		sheet string
		code  int
	}{
		{"no key", map[string]string{"MASSPAY_ENV": "staging"}, nil, good, ExitUsage},
		{"no environment", map[string]string{"MASSPAY_API_KEY": "sk_test_right"}, nil, good, ExitUsage},
		{"key refused", map[string]string{"MASSPAY_API_KEY": "sk_test_wrong", "MASSPAY_BASE_URL": srv.URL()}, nil, good, ExitAborted},
		{"bad sheet", map[string]string{"MASSPAY_API_KEY": "sk_test_right", "MASSPAY_BASE_URL": srv.URL()}, nil, badSheet, ExitUsage},
		{"bad sheet, sandbox", nil, []string{"--sandbox"}, badSheet, ExitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			env := map[string]string{"PAYRUN_LEDGER": filepath.Join(dir, "payrun.db")}
			for k, v := range tc.env {
				env[k] = v
			}
			args := append(append([]string{"run", "--yes"}, tc.args...), tc.sheet)
			code, out, errs := runIn(t, env, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("a run refused before it started left %v", names)
			}
		})
	}
}

// TestReportDefaultsToTheRunsResults: payrun report without --out writes
// where the run wrote its results (--out of the run, or where the inbox
// filed them), not next to the original sheet.
func TestReportDefaultsToTheRunsResults(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	sheetDir, outDir := filepath.Join(dir, "sheets"), filepath.Join(dir, "results")
	os.MkdirAll(sheetDir, 0o700)
	os.MkdirAll(outDir, 0o700)
	sheet := filepath.Join(sheetDir, "june.csv")
	writeRunCSV(t, sheet, runSheetRows("REP", 3))
	results := filepath.Join(outDir, "june-paid.xlsx")
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", ledgerPath, "--out", results, sheet); code != ExitOK {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	os.Remove(results)
	code, out, errs := runIn(t, nil, "report", "--ledger", ledgerPath)
	if code != ExitOK {
		t.Fatalf("report: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(results); err != nil || !strings.Contains(out, "Wrote "+results) {
		t.Errorf("report did not write the run's results %s (%v):\n%s", results, err, out)
	}
	if ents, _ := os.ReadDir(sheetDir); len(ents) != 1 {
		t.Errorf("report wrote next to the sheet: %v", ents)
	}
	// --format csv keeps the recorded place, with the format's extension.
	if code, out, errs := runIn(t, nil, "report", "--ledger", ledgerPath, "--format", "csv"); code != ExitOK || !strings.Contains(out, "Wrote "+filepath.Join(outDir, "june-paid.csv")) {
		t.Errorf("report --format csv: exit %d\n%s%s", code, out, errs)
	}

	// The inbox's run: its results are recorded where they were filed.
	box := filepath.Join(dir, "box")
	os.MkdirAll(filepath.Join(box, "incoming"), 0o750)
	writeSheet(t, filepath.Join(box, "incoming", "a.csv"), "REPB", 1)
	if code, out, errs := runIn(t, nil, "inbox", box, "--sandbox", "--once", "--settle", "10ms"); code != ExitOK {
		t.Fatalf("inbox: exit %d\n%s%s", code, out, errs)
	}
	filed := filepath.Join(box, "done", time.Now().Format("2006-01-02"), "a.results.xlsx")
	os.Remove(filed)
	code, out, errs = runIn(t, nil, "report", "--ledger", filepath.Join(box, "payrun-sandbox.db"))
	if code != ExitOK {
		t.Fatalf("report of the inbox's run: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(filed); err != nil {
		t.Errorf("report of the inbox's run did not write %s (%v):\n%s", filed, err, out)
	}
}

// TestStatusListsEveryRowThatFailsIt: after a run with a CONFLICT (an id
// paid before, with another amount now) and an INVALID row (--skip-invalid),
// payrun status exits 1 and lists both, each with what to do.
func TestStatusListsEveryRowThatFailsIt(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	rows := runSheetRows("ST", 3)
	first := filepath.Join(dir, "june.csv")
	writeRunCSV(t, first, rows[:2])
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", ledgerPath, first); code != ExitOK {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	changed := append([]string{}, rows[0]...)
	changed[7] = "999.99" // ST-0001 again, another amount
	invalid := append([]string{}, rows[2]...)
	invalid[7] = "-5" // ST-0003: a mistake, skipped
	second := filepath.Join(dir, "june-fixed.csv")
	writeRunCSV(t, second, [][]string{changed, rows[1], invalid})
	if code, out, errs := runIn(t, nil, "run", "--sandbox", "--yes", "--skip-invalid", "--ledger", ledgerPath, second); code != ExitAttention {
		t.Fatalf("second run: exit %d, want 1\n%s%s", code, out, errs)
	}
	code, out, errs := runIn(t, nil, "status", "--ledger", ledgerPath)
	if code != ExitAttention {
		t.Fatalf("status: exit %d, want 1\n%s%s", code, out, errs)
	}
	t.Log(out)
	for _, want := range []string{"row 2 ST-0001 [CONFLICT]", "row 4 ST-0003 [INVALID]", "new client_transfer_id", "fix"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

// asOSAccount makes payrun see acct as the OS account running it until the
// test ends: one test process cannot log in as two people.
func asOSAccount(t *testing.T, acct string) {
	t.Helper()
	prev := osAccount
	osAccount = func() string { return acct }
	t.Cleanup(func() { osAccount = prev })
}

// TestApproveRefusesPreparersOSAccount: --as names who approves, but the OS
// account that prepared a plan may not approve it under another name;
// another account may, and the record names both; allow_self_approval
// lets a team of one through.
func TestApproveRefusesPreparersOSAccount(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	sheet := filepath.Join(dir, "june.csv")
	writeSheet(t, sheet, "OSA", 1, 2)
	env := map[string]string{"PAYRUN_LEDGER": ledgerPath}
	for i := 1; i <= 2; i++ {
		if code, out, errs := runIn(t, env, "plan", "--sandbox", "--as", "bob", sheet); code != 0 || !strings.Contains(out, "Recorded as plan") {
			t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
		}
	}
	code, out, errs := runIn(t, env, "approve", "--as", "carol", "1")
	if code != ExitUsage || !strings.Contains(errs, "OS account "+operator()) || !strings.Contains(errs, "allow_self_approval") {
		t.Fatalf("approve --as carol from the preparer's OS account: exit %d, want 2\n%s%s", code, out, errs)
	}
	asOSAccount(t, "carol@laptop")
	code, out, errs = runIn(t, env, "approve", "--as", "carol", "1")
	if code != 0 || !strings.Contains(out, "approved by carol (OS account carol@laptop)") {
		t.Fatalf("approve from another OS account: exit %d\n%s%s", code, out, errs)
	}
	asOSAccount(t, operator())
	cfg := filepath.Join(dir, "payrun.toml")
	os.WriteFile(cfg, []byte("allow_self_approval = true\n"), 0o600)
	env["PAYRUN_CONFIG"] = cfg
	if code, out, errs := runIn(t, env, "approve", "--as", "carol", "2"); code != 0 {
		t.Fatalf("approve with allow_self_approval: exit %d\n%s%s", code, out, errs)
	}
	l, err := ledger.Open(context.Background(), ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var trail []string
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{Kind: ledger.EventApproval}) {
		if err != nil {
			t.Fatal(err)
		}
		trail = append(trail, ev.Message)
	}
	got := strings.Join(trail, "\n")
	for _, want := range []string{`plan 1 approved as "carol" from OS account carol@laptop`, `plan 2 approved as "carol" from OS account ` + operator()} {
		if !strings.Contains(got, want) {
			t.Errorf("approval records lack %q:\n%s", want, got)
		}
	}
}

// TestProgressAfterStopShowsNoETA: once a run is told to stop (Ctrl-C),
// its progress no longer estimates a finish that will not come: the last
// progress line says it is stopping and how many rows are left, without
// an ETA.
func TestProgressAfterStopShowsNoETA(t *testing.T) {
	dir := t.TempDir()
	sheet := filepath.Join(dir, "big.csv")
	writeRunCSV(t, sheet, runSheetRows("STOP", 120))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		progressHook: func(p batch.Progress) {
			if p.Done >= 3 {
				stop() // the first Ctrl-C
			}
		}}
	err := m.Run(ctx, []string{"run", "--sandbox", "--yes", "--workers", "2", "--ledger", filepath.Join(dir, "pay.db"), sheet})
	if code := ExitCode(err); code != ExitAborted {
		t.Fatalf("stopped run: exit %d (%v), want 3\n%s%s", code, err, out.String(), errb.String())
	}
	var last map[string]any
	for _, line := range strings.Split(errb.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["message"] == "progress" {
			last = rec
		}
	}
	if last == nil {
		t.Fatalf("no progress line:\n%s", errb.String())
	}
	if _, ok := last["eta"]; ok || last["stopping"] != true {
		t.Errorf("progress after the stop estimates a finish or does not say it stops: %v", last)
	}
	if left, _ := last["left"].(float64); left < 1 {
		t.Errorf("progress after the stop does not say how many rows are left: %v", last)
	}
}

// TestProgressLineAfterStop: on a terminal, the bar after a stop reads
// "stopping", with the rows left and no ETA.
func TestProgressLineAfterStop(t *testing.T) {
	var b strings.Builder
	now := time.Now()
	v := newProgressView(&b, true, zerolog.Nop())
	v.now = func() time.Time { return now }
	snap := batch.Progress{Total: 100, Done: 10, Started: now.Add(-10 * time.Second), ByState: map[ledger.State]int{ledger.StatePaid: 10}}
	v.Update(snap)
	if !strings.Contains(b.String(), "ETA") {
		t.Fatalf("a running bar shows no ETA: %q", b.String())
	}
	v.Stopping()
	b.Reset()
	v.Finish()
	got := b.String()
	if strings.Contains(got, "ETA") || !strings.Contains(got, "stopping") || !strings.Contains(got, "90 rows left") {
		t.Errorf("the bar after a stop = %q, want stopping, 90 rows left, no ETA", got)
	}
}

// TestStderrIsJSONUnderCron runs the payrun binary as cron would, stdout
// and stderr pipes: a sheet with a warning and a CONFLICT row, stopped by
// SIGINT mid-run. Every stderr line parses as JSON (a log shipper reads
// it); the human lines ("To pay", the conflict, "Stopping", "Interrupted")
// are on stdout.
func TestStderrIsJSONUnderCron(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	rows := runSheetRows("JS", 400)
	first := filepath.Join(dir, "first.csv")
	writeRunCSV(t, first, rows[:1])
	rows[0][7] = "999.99" // JS-0001 again, another amount: CONFLICT
	rows[6][7] = "$" + rows[6][7]
	sheet := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheet, rows)
	run := func(sheet string, interrupt bool) (string, string) {
		cmd := exec.Command(payrunBin, "run", "--sandbox", "--yes", "--workers", "1", "--ledger", ledgerPath, sheet)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		cmd.Dir = dir
		var errb bytes.Buffer
		cmd.Stderr = &errb
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if interrupt && strings.HasPrefix(sc.Text(), "To pay:") {
				time.Sleep(300 * time.Millisecond)
				cmd.Process.Signal(os.Interrupt)
			}
		}
		cmd.Wait()
		return out.String(), errb.String()
	}
	out1, errs1 := run(first, false)
	out2, errs2 := run(sheet, true)
	for _, line := range strings.Split(strings.TrimRight(errs1+errs2, "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line is not JSON: %q", line)
		}
	}
	for _, want := range []string{"To pay:", "CONFLICT, not paid", "Stopping:", "Interrupted."} {
		if !strings.Contains(out2, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out1+out2)
		}
	}
}

// TestOneRowIsNotOneRows: a one-row sheet through plan, run, status and
// report never prints "1 rows" (nor "1 payouts", "1 mistakes", ...).
func TestOneRowIsNotOneRows(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	sheet := filepath.Join(dir, "one.csv")
	rows := runSheetRows("ONE", 1)
	writeRunCSV(t, sheet, rows)
	bad := filepath.Join(dir, "bad.csv")
	rows[0][7] = "-1"
	writeRunCSV(t, bad, rows)
	env := map[string]string{"PAYRUN_LEDGER": ledgerPath}
	var all strings.Builder
	for _, args := range [][]string{
		{"plan", "--sandbox", sheet},
		{"run", "--sandbox", "--yes", sheet},
		{"status"},
		{"report"},
		{"run", "--sandbox", "--yes", bad},
	} {
		_, out, errs := runIn(t, env, args...)
		all.WriteString(out + errs)
	}
	got := all.String()
	if m := regexp.MustCompile(`(^|[^0-9.,/])1 [a-z]+s\b`).FindAllString(got, -1); len(m) > 0 {
		t.Errorf("plural after 1: %q in:\n%s", m, got)
	}
	if !strings.Contains(got, "1 row") {
		t.Errorf("no count of 1 row printed at all:\n%s", got)
	}
}

// TestInboxStderrIsJSON: under cron the inbox's stderr is JSON lines only,
// a refused sheet's mistakes and the per-sheet headings included; they are
// on stdout.
func TestInboxStderrIsJSON(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "incoming")
	os.MkdirAll(in, 0o750)
	writeSheet(t, filepath.Join(in, "a.csv"), "IJ", 1)
	bad, _ := os.ReadFile("../../samples/mistakes.csv")
	os.WriteFile(filepath.Join(in, "b-bad.csv"), bad, 0o600)
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background(), []string{"inbox", dir, "--sandbox", "--once", "--settle", "10ms"})
	if code := ExitCode(err); code != ExitAttention {
		t.Fatalf("inbox: exit %d (%v)\n%s%s", code, err, out.String(), errb.String())
	}
	for _, line := range strings.Split(strings.TrimRight(errb.String(), "\n"), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line is not JSON: %q", line)
		}
	}
	for _, want := range []string{"== a.csv", "== b-bad.csv", "Nothing was paid", "To pay:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
}
