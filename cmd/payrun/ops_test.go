package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
)

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

	unlock, err := lockInbox(dir, ".payrun-inbox.lock")
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
