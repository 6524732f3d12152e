package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// TestRunKilledAndResumed runs the real binary against a sandbox in another
// process (so killing the runner leaves MassPay alive), SIGKILLs it at random
// points several times, and re-runs it until it finishes. Nothing may be paid
// twice and everything must end paid.
func TestRunKilledAndResumed(t *testing.T) {
	if payrunBin == "" {
		t.Skip("no payrun binary")
	}
	dir := t.TempDir()
	const key = "kill-test-key"
	sb := exec.Command(payrunBin, "sandbox", "--listen", "127.0.0.1:0", "--api-key", key, "--seed", "5",
		"--latency", "15ms", "--latency-jitter", "10ms")
	stdout, err := sb.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sb.Stderr = os.Stderr
	if err := sb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sb.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { sb.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			sb.Process.Kill()
		}
	})
	base := readSandboxURL(t, stdout)

	sheet, ledgerPath, results := filepath.Join(dir, "kill.csv"), filepath.Join(dir, "payrun.db"), filepath.Join(dir, "kill.results.xlsx")
	rows := runSheetRows("KIL", 60)
	writeRunCSV(t, sheet, rows)
	env := append(os.Environ(), "MASSPAY_API_KEY="+key, "MASSPAY_ENV=staging")
	args := []string{"run", "--yes", "--base-url", base, "--rate-limit", "1000", "--workers", "6",
		"--ledger", ledgerPath, "--out", results, sheet}

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	kills := 5 + rng.IntN(6)
	killed, midway := 0, 0
	for i := 0; i < kills; i++ {
		cmd := exec.Command(payrunBin, args...)
		cmd.Env = env
		var logs syncBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(150+rng.IntN(900)) * time.Millisecond
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			// Finished before the kill: fine, the sheet is done.
			t.Logf("run %d finished before its kill at %v: %v", i+1, delay, err)
			if err != nil {
				t.Logf("%s", logs.String())
			}
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			killed++
			n := finalRows(t, ledgerPath)
			t.Logf("run %d killed at %v: %d of %d rows final", i+1, delay, n, len(rows))
			if n > 0 && n < len(rows) {
				midway++
			}
		}
	}
	if midway == 0 {
		t.Error("no kill landed in the middle of the payments: the delays need retuning")
	}
	// Now let it finish.
	var final syncBuffer
	code := -1
	for attempt := 0; attempt < 3 && code != 0; attempt++ {
		cmd := exec.Command(payrunBin, args...)
		cmd.Env = env
		final = syncBuffer{}
		cmd.Stdout, cmd.Stderr = &final, &final
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			code = 0
		case errors.As(err, &ee):
			code = ee.ExitCode()
		default:
			t.Fatal(err)
		}
	}
	if code != 0 {
		t.Fatalf("final run exit %d after %d kills:\n%s", code, killed, final.String())
	}
	t.Logf("%d of %d runs killed, then finished", killed, kills)

	audit := fetchAudit(t, base, key)
	got := checkPaidOnce(t, audit, ledgerPath, results)
	for id, r := range got {
		if r.State != ledger.StatePaid && r.State != ledger.StateLoaded {
			t.Errorf("%s: %s (%s)", id, r.State, r.LastError)
		}
	}
	if len(got) != len(rows) {
		t.Errorf("%d rows in the last run, want %d", len(got), len(rows))
	}
}

// readSandboxURL reads `payrun sandbox`'s banner up to its base URL.
func readSandboxURL(t *testing.T, r interface{ Read([]byte) (int, error) }) string {
	t.Helper()
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+/v1\.0\.0/payout)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sent := false
		for sc.Scan() { // keep draining so the sandbox never blocks on stdout
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(20 * time.Second):
		t.Fatal("payrun sandbox printed no URL")
		return ""
	}
}

// fetchAudit reads GET /_sandbox/audit.
func fetchAudit(t *testing.T, base, key string) sandbox.Audit {
	t.Helper()
	root := strings.TrimSuffix(base, "/v1.0.0/payout")
	req, _ := http.NewRequest(http.MethodGet, root+"/_sandbox/audit", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit: %s", resp.Status)
	}
	var a sandbox.Audit
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// finalRows counts the ledger's rows in a final state (0 when the killed run
// did not get as far as creating the ledger).
func finalRows(t *testing.T, path string) int {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		return 0
	}
	l, err := ledger.Open(context.Background(), path, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	counts, err := l.Counts(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s, c := range counts {
		if s.Final() {
			n += c
		}
	}
	return n
}
