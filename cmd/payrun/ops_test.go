package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// payrunBin is the payrun binary built once for the tests that need two
// real processes (the ledger lock is per process).
var payrunBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "payrun-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	payrunBin = filepath.Join(dir, "payrun")
	if out, err := exec.Command("go", "build", "-o", payrunBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build payrun: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runIn runs payrun in-process with env as the whole environment and
// returns the exit code, stdout and stderr.
func runIn(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), args)
	if err != nil && !strings.Contains(errb.String(), err.Error()) {
		errb.Write([]byte("payrun: " + err.Error() + "\n"))
	}
	return ExitCode(err), out.String(), errb.String()
}

// writeSheet writes a CSV with the samples' header and the given rows of
// samples/crypto-payouts.csv (1-based), renumbering the ids with prefix so
// sheets do not collide in one ledger.
func writeSheet(t *testing.T, path, prefix string, rows ...int) {
	t.Helper()
	recs := readCSV(t, "../../samples/crypto-payouts.csv")
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(recs[0])
	for _, r := range rows {
		rec := append([]string{}, recs[r]...)
		rec[0] = fmt.Sprintf("%s-%04d", prefix, r)
		w.Write(rec)
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestTwoRunsOneLedger: while one payrun run works a ledger, a second exits
// at once with code 3 and a message naming the first; the first finishes.
func TestTwoRunsOneLedger(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	sheet, _ := filepath.Abs("../../samples/monthly-freelancers.csv")
	run := func() *exec.Cmd {
		cmd := exec.Command(payrunBin, "run", "--sandbox", "--yes", "--workers", "2", "--ledger", ledgerPath, "--out", filepath.Join(dir, "r.xlsx"), sheet)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		cmd.Dir = dir
		return cmd
	}
	first := run()
	var firstOut bytes.Buffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the first holds the lock: the lock file names its owner.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(ledger.LockPath(ledgerPath)); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("first run never took the lock: %s", firstOut.String())
		}
	}
	second := run()
	out, err := second.CombinedOutput()
	if code := second.ProcessState.ExitCode(); code != ExitAborted {
		t.Fatalf("second run: exit %d (%v), want 3; output:\n%s", code, err, out)
	}
	want := fmt.Sprintf("is in use by pid %d", first.Process.Pid)
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "wait for it to finish") {
		t.Errorf("second run's message lacks %q:\n%s", want, out)
	}
	if err := first.Wait(); err != nil && first.ProcessState.ExitCode() != ExitAttention {
		t.Fatalf("first run: %v\n%s", err, firstOut.String())
	}
	if !strings.Contains(firstOut.String(), "Run 1:") {
		t.Errorf("first run did not finish its run:\n%s", firstOut.String())
	}
}

// TestRequireApproval walks maker-checker end to end with require_approval
// set in payrun.toml: no plan, self-approval, pending, approved, modified.
func TestRequireApproval(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	cfg := filepath.Join(dir, "payrun.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("require_approval = true\nledger = %q\n", ledgerPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	sheet := filepath.Join(dir, "june.csv")
	writeSheet(t, sheet, "APR", 1, 2, 3)
	env := map[string]string{"PAYRUN_CONFIG": cfg}
	runSheet := func() (int, string) {
		code, out, errs := runIn(t, env, "run", "--sandbox", "--yes", sheet)
		return code, out + errs
	}

	code, out := runSheet()
	if code != ExitUsage || !strings.Contains(out, "no plan of this sheet was recorded") {
		t.Fatalf("unplanned sheet: exit %d, want 2 and a reason:\n%s", code, out)
	}
	if code, out, errs := runIn(t, env, "plan", "--sandbox", "--as", "bob", sheet); code != 0 || !strings.Contains(out, "Recorded as plan 1") {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	// The approver works from an OS account of their own: the
	// preparer's may not approve under any name.
	asOSAccount(t, "alice@laptop")
	if code, _, errs := runIn(t, env, "approve", "--as", "bob", "1"); code != ExitUsage || !strings.Contains(errs, "they prepared it") {
		t.Fatalf("self-approval: exit %d, want 2:\n%s", code, errs)
	}
	if code, out := runSheet(); code != ExitUsage || !strings.Contains(out, "waits for approval") {
		t.Fatalf("pending plan: exit %d, want 2:\n%s", code, out)
	}
	if code, out, errs := runIn(t, env, "approve", "--as", "alice", "1"); code != 0 || !strings.Contains(out, "approved by alice") {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errs)
	}
	// The approved bytes, edited afterwards, are another sheet.
	orig, _ := os.ReadFile(sheet)
	edited := bytes.Replace(orig, []byte("1711.01"), []byte("9711.01"), 1)
	if bytes.Equal(orig, edited) {
		t.Fatal("test sheet lacks the amount it edits")
	}
	os.WriteFile(sheet, edited, 0o600)
	if code, out := runSheet(); code != ExitUsage || !strings.Contains(out, "the sheet changed since plan 1") {
		t.Fatalf("modified sheet: exit %d, want 2:\n%s", code, out)
	}
	os.WriteFile(sheet, orig, 0o600)
	if code, out := runSheet(); code != 0 || !strings.Contains(out, "PAID 3") {
		t.Fatalf("approved sheet: exit %d, want 0:\n%s", code, out)
	}

	l, err := ledger.Open(context.Background(), ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var trail []string
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case ledger.EventPlan, ledger.EventApproval, ledger.EventRun:
			trail = append(trail, string(ev.Kind)+": "+ev.Message)
		}
	}
	got := strings.Join(trail, "\n")
	for _, want := range []string{"plan: plan 1 prepared by bob", "approval: plan 1 approved by alice", "refused: no plan",
		"refused: plan 1 of this sheet, prepared by bob, waits", "refused: the sheet changed", "pays plan 1, prepared by bob and approved by alice"} {
		if !strings.Contains(got, want) {
			t.Errorf("event trail lacks %q:\n%s", want, got)
		}
	}
}

// TestInboxThreeSheetsOneBad: two good sheets land in done/<date>/ with
// their results, the bad one in failed/<date>/, and the inbox exits 1.
func TestInboxThreeSheetsOneBad(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "incoming")
	os.MkdirAll(in, 0o750)
	writeSheet(t, filepath.Join(in, "a.csv"), "A", 1, 2)
	writeSheet(t, filepath.Join(in, "b.csv"), "B", 3, 4)
	bad, _ := os.ReadFile("../../samples/mistakes.csv")
	os.WriteFile(filepath.Join(in, "c-bad.csv"), bad, 0o600)
	os.WriteFile(filepath.Join(in, "~$a.xlsx"), []byte("lock"), 0o600)   // Excel's lock file
	os.WriteFile(filepath.Join(in, "d.csv.part"), []byte("half"), 0o600) // a copy in progress

	code, out, errs := runIn(t, nil, "inbox", dir, "--sandbox", "--once", "--settle", "50ms")
	if code != ExitAttention {
		t.Fatalf("inbox: exit %d, want 1 (a sheet failed)\n%s%s", code, out, errs)
	}
	files := tree(t, dir)
	for _, want := range []string{"done/*/a.csv", "done/*/a.results.xlsx", "done/*/b.csv", "done/*/b.results.xlsx", "failed/*/c-bad.csv",
		"failed/*/c-bad.mistakes.txt", "incoming/~$a.xlsx", "incoming/d.csv.part"} {
		if !matchAny(want, files) {
			t.Errorf("no %s among %v", want, files)
		}
	}
	for _, f := range files {
		if strings.HasPrefix(f, "incoming/") && strings.HasSuffix(f, ".csv") {
			t.Errorf("%s left in incoming", f)
		}
	}
	// Every results path printed is where the workbook is now.
	if strings.Contains(out, ".work") {
		t.Errorf("the output names the inbox's work folder:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "Results: "); ok {
			if _, err := os.Stat(p); err != nil {
				t.Errorf("printed %q: %v", line, err)
			}
		}
	}
	if n := strings.Count(out, "Results: "); n != 2 {
		t.Errorf("%d results paths printed, want 2 (a and b; the bad sheet never ran)\n%s", n, out)
	}
	// The refused sheet's mistakes lie beside it, naming row and column.
	_, after, ok := strings.Cut(out, "Mistakes: ")
	if !ok {
		t.Fatalf("no mistakes file named:\n%s", out)
	}
	why, err := os.ReadFile(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(why), "row ") || !strings.Contains(string(why), "column") || !strings.Contains(string(why), "Nothing was paid") {
		t.Errorf("mistakes file does not say which cells and what it means:\n%s", why)
	}
	// A second tick finds nothing to do and exits 0.
	if code, out, errs := runIn(t, nil, "inbox", dir, "--sandbox", "--once", "--settle", "50ms"); code != 0 {
		t.Fatalf("empty inbox: exit %d\n%s%s", code, out, errs)
	}
}

// TestInboxSlowCopy: a sheet still being written is left for the next tick,
// then paid whole.
func TestInboxSlowCopy(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "incoming")
	os.MkdirAll(in, 0o750)
	full := filepath.Join(dir, "full.csv")
	writeSheet(t, full, "S", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	data, _ := os.ReadFile(full)
	slow := filepath.Join(in, "slow.csv")
	f, err := os.OpenFile(slow, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer f.Close()
		// A few bytes every 10 ms: the copy takes far longer than the
		// inbox's settle time, and never pauses for that long.
		for i := 0; i < len(data); i += 8 {
			f.Write(data[i:min(i+8, len(data))])
			time.Sleep(10 * time.Millisecond)
		}
	}()
	code, out, errs := runIn(t, nil, "inbox", dir, "--sandbox", "--once", "--settle", "300ms")
	select {
	case <-done:
		t.Fatal("the writer finished before the inbox looked; the test proves nothing")
	default:
	}
	if code != 0 || !strings.Contains(out, "1 left for the next tick") {
		t.Fatalf("inbox during the copy: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(slow); err != nil {
		t.Fatalf("half-written sheet was taken: %v", err)
	}
	<-done
	code, out, errs = runIn(t, nil, "inbox", dir, "--sandbox", "--once", "--settle", "100ms")
	if code != 0 || !strings.Contains(out, "1 done") || !matchAny("done/*/slow.csv", tree(t, dir)) {
		t.Fatalf("inbox after the copy: exit %d\n%s%s", code, out, errs)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "done", time.Now().Format("2006-01-02"), "slow.csv"))
	if !bytes.Equal(got, data) {
		t.Error("the filed sheet is not the whole sheet")
	}
}

// TestInboxBusy: a second inbox on the same folder, or an inbox while a run
// holds the ledger, exits 3 at once and leaves every file where it was.
func TestInboxBusy(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "incoming")
	os.MkdirAll(in, 0o750)
	writeSheet(t, filepath.Join(in, "a.csv"), "BUSY", 1)

	unlock, err := lockInbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := runIn(t, nil, "inbox", dir, "--sandbox", "--once", "--settle", "10ms")
	unlock()
	if code != ExitAborted || !strings.Contains(errs, fmt.Sprintf("is in use by pid %d", os.Getpid())) || !strings.Contains(errs, "untouched") {
		t.Fatalf("inbox while another inbox works: exit %d, want 3:\n%s", code, errs)
	}

	l, err := ledger.Open(context.Background(), filepath.Join(dir, "payrun-sandbox.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lk, err := l.Lock(context.Background(), ledger.LockOwner{Command: "payrun run by hand"})
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs = runIn(t, nil, "inbox", dir, "--sandbox", "--once", "--settle", "10ms")
	lk.Release()
	if code != ExitAborted || !strings.Contains(errs, "payrun run by hand") {
		t.Fatalf("inbox while a run holds the ledger: exit %d, want 3:\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(in, "a.csv")); err != nil {
		t.Fatalf("a busy inbox moved the sheet: %v", err)
	}
}

// TestLogsJSONWithoutSecrets pays sheets holding bank details and wallet
// addresses through a sandbox with a secret key, logging at debug level
// with every request, and checks every line: JSON, no key, no payee
// detail, and run_id on the lines of the run (the MassPay client's too).
func TestLogsJSONWithoutSecrets(t *testing.T) {
	const key = "sk_live_DO-NOT-LOG-4f1c9a7e2b"
	srv, err := sandbox.Start(sandbox.Config{APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	// Every sample row with an attr: value, plus the crypto wallets.
	var secrets []string
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for i, src := range []string{"../../samples/monthly-freelancers.csv", "../../samples/crypto-payouts.csv"} {
		recs := readCSV(t, src)
		if i == 0 {
			w.Write(recs[0])
		}
		for _, rec := range recs[1:] {
			has := false
			for c, h := range recs[0] {
				// Three-digit bank codes also occur in timestamps and
				// latencies; account numbers, routing numbers, phones,
				// e-mails and wallets are what must never leak.
				if strings.HasPrefix(h, "attr:") && len(rec[c]) >= 6 {
					secrets, has = append(secrets, rec[c]), true
				}
			}
			if has {
				w.Write(rec)
			}
		}
	}
	w.Flush()
	sheet := filepath.Join(dir, "details.csv")
	os.WriteFile(sheet, b.Bytes(), 0o600)
	if len(secrets) < 30 {
		t.Fatalf("only %d attribute values in the samples", len(secrets))
	}
	logFile := filepath.Join(dir, "payrun.log")
	env := map[string]string{"MASSPAY_API_KEY": key, "MASSPAY_BASE_URL": srv.URL()}
	code, out, errs := runIn(t, env, "run", "--yes", "--debug", "--log-level", "debug", "--ledger", filepath.Join(dir, "pay.db"), sheet)
	if code != 0 && code != ExitAttention {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	// Same run's stderr (not a terminal) and a --log-file run both give JSON.
	code, _, errs2 := runIn(t, env, "run", "--yes", "--debug", "--log-file", logFile, "--ledger", filepath.Join(dir, "pay.db"), sheet)
	if code != 0 && code != ExitAttention {
		t.Fatalf("second run: exit %d\n%s", code, errs2)
	}
	fileLog, _ := os.ReadFile(logFile)
	var lines []string
	for _, l := range strings.Split(errs, "\n") {
		if strings.HasPrefix(l, "{") {
			lines = append(lines, l)
		}
	}
	fileLines := strings.Split(strings.TrimSpace(string(fileLog)), "\n")
	lines = append(lines, fileLines...)
	all := out + errs + errs2 + string(fileLog)
	if strings.Contains(all, key) {
		t.Fatal("the API key appears in the output or the log")
	}
	for _, s := range secrets {
		if strings.Contains(errs+string(fileLog), s) {
			t.Errorf("payee detail %q appears in the log", s)
		}
	}
	clientLines, runLines := 0, 0
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		// The balance read before the run begins has no run to name.
		if rec["component"] == "masspay" && rec["path"] != "/account/balance" {
			clientLines++
			if rec["run_id"] == nil {
				t.Errorf("MassPay client line of a run lacks run_id: %s", l)
			}
		}
		if rec["run_id"] != nil {
			runLines++
		}
	}
	if clientLines == 0 || runLines == 0 || len(fileLines) < 5 {
		t.Errorf("too few lines to judge: %d client, %d with run_id, %d in the file", clientLines, runLines, len(fileLines))
	}
}

// TestConfigPrecedenceAndRedaction: flags beat env beat payrun.toml, the key
// is never printed, and a file holding the key is refused.
func TestConfigPrecedenceAndRedaction(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("sk_live_SECRET_IN_FILE\n"), 0o600)
	cfg := filepath.Join(dir, "payrun.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("env = \"staging\"\nworkers = 3\nrate_limit = 7.5\nlog_level = \"warn\"\napi_key_file = %q\ninbox_settle = \"2s\"\n", keyFile)), 0o600)
	env := map[string]string{"PAYRUN_CONFIG": cfg, "PAYRUN_WORKERS": "5", "MASSPAY_ENV": "production"}
	code, out, errs := runIn(t, env, "config", "--rate-limit", "9")
	if code != 0 {
		t.Fatalf("config: exit %d\n%s", code, errs)
	}
	for _, want := range []string{
		"env                  production", "env MASSPAY_ENV",
		"workers              5", "env PAYRUN_WORKERS",
		"rate_limit           9", "flag --rate-limit",
		"log_level            warn", "inbox_settle         2s", "config " + cfg,
		"set (redacted), read from " + keyFile,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errs, "SECRET_IN_FILE") {
		t.Fatal("payrun config printed the key")
	}
	// An environment key outranks the file's key file.
	env["MASSPAY_API_KEY"] = "sk_env"
	if _, out, _ := runIn(t, env, "config"); !strings.Contains(out, "env MASSPAY_API_KEY") || strings.Contains(out, "sk_env") {
		t.Errorf("env key not preferred, or printed:\n%s", out)
	}

	for name, text := range map[string]string{
		"key":     "api_key = \"sk_live_typed_by_mistake\"\n",
		"unknown": "require_aproval = true\n",
		"type":    "workers = \"many\"\n",
	} {
		p := filepath.Join(dir, name+".toml")
		os.WriteFile(p, []byte(text), 0o600)
		code, out, errs := runIn(t, nil, "config", "--config", p)
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
		if strings.Contains(out+errs, "sk_live_typed_by_mistake") {
			t.Errorf("%s: the refused key was echoed: %s", name, errs)
		}
	}
	// A run reads the file too: no environment at all, and production
	// needs saying so.
	os.WriteFile(cfg, []byte("base_url = \"https://api.masspay.io/v1.0.0/payout\"\n"), 0o600)
	sheet := filepath.Join(dir, "s.csv")
	writeSheet(t, sheet, "P", 1)
	code, _, errs = runIn(t, map[string]string{"PAYRUN_CONFIG": cfg, "MASSPAY_API_KEY": "k"}, "plan", "--ledger", filepath.Join(dir, "p.db"), sheet)
	if code != ExitUsage || !strings.Contains(errs, "production") {
		t.Errorf("production URL without MASSPAY_ENV=production: exit %d\n%s", code, errs)
	}
}

func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func matchAny(pattern string, files []string) bool {
	for _, f := range files {
		if ok, _ := filepath.Match(pattern, f); ok {
			return true
		}
	}
	return false
}
