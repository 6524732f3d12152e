package torture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
	"github.com/payrun/payrun/masspay/sandbox"
)

// apiKey is the sandbox key of every torture process; it is a sandbox-only
// key and never a secret.
const apiKey = "torture-key"

// sandboxProc is `payrun sandbox` in its own process: the runner's death
// must not take MassPay's state with it.
type sandboxProc struct {
	cmd  *exec.Cmd
	url  string // API base for --base-url
	addr string
}

// startSandbox starts a sandbox process with extra flags and stops it when
// the test ends.
func startSandbox(t testing.TB, seed int64, flags ...string) *sandboxProc {
	t.Helper()
	args := append([]string{"sandbox", "--listen", "127.0.0.1:0", "--api-key", apiKey,
		"--seed", fmt.Sprint(seed), "--balance", "USD=1000000000"}, flags...)
	cmd := exec.Command(payrunBin, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	sp := &sandboxProc{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "MassPay sandbox listening on "); ok {
			sp.url = strings.TrimSpace(u)
			sp.addr = strings.TrimPrefix(strings.SplitN(sp.url, "/v1.0.0", 2)[0], "http://")
			break
		}
	}
	if sp.url == "" {
		t.Fatal("sandbox printed no URL")
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return sp
}

func (s *sandboxProc) admin(t testing.TB, method, path string, body any) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+s.addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("sandbox %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("sandbox %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// audit is the sandbox's whole ledger.
func (s *sandboxProc) audit(t testing.TB) sandbox.Audit {
	t.Helper()
	var a sandbox.Audit
	if err := json.Unmarshal(s.admin(t, "GET", "/_sandbox/audit", nil), &a); err != nil {
		t.Fatalf("decode audit: %v", err)
	}
	return a
}

// cleanEnv is the test's environment without anything that would arm a
// fault point or point payrun elsewhere.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PAYRUN_") || strings.HasPrefix(k, "MASSPAY_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// runOpts is one invocation of `payrun run`.
type runOpts struct {
	sheet, ledger, out string
	baseURL            string
	workers            int
	faultpoint         string // PAYRUN_FAULTPOINT, "" for none
	countFile          string // PAYRUN_FAULTPOINT_COUNT
	killAfter          time.Duration
	claimLease         time.Duration // --claim-lease (PostgreSQL ledger), 0 for the default
}

// runResult is how one invocation ended.
type runResult struct {
	killed bool // by its own fault point or by the driver
	code   int
	output string
}

// payrunProc is one `payrun run` process started by startPayrun.
type payrunProc struct {
	cmd   *exec.Cmd
	buf   bytes.Buffer
	timer *time.Timer
}

// runPayrun runs the binary once and waits for it to end (or kills it with
// SIGKILL after killAfter).
func runPayrun(t testing.TB, o runOpts) runResult {
	t.Helper()
	return startPayrun(t, o).wait(t)
}

// startPayrun starts the binary (call it from the test's goroutine); wait
// for it with wait, which may be called from any goroutine.
func startPayrun(t testing.TB, o runOpts) *payrunProc {
	t.Helper()
	w := o.workers
	if w == 0 {
		w = 8
	}
	args := []string{"run", "--yes", "--ledger", o.ledger, "--base-url", o.baseURL, "--rate-limit", "0",
		"--workers", fmt.Sprint(w), "--out", o.out}
	if o.claimLease > 0 {
		args = append(args, "--claim-lease", o.claimLease.String())
	}
	args = append(args, o.sheet)
	p := &payrunProc{cmd: exec.Command(payrunBin, args...)}
	cmd := p.cmd
	cmd.Env = append(cleanEnv(), "MASSPAY_API_KEY="+apiKey)
	if o.faultpoint != "" {
		cmd.Env = append(cmd.Env, faultpoint.EnvKill+"="+o.faultpoint)
	}
	if o.countFile != "" {
		cmd.Env = append(cmd.Env, faultpoint.EnvCount+"="+o.countFile)
	}
	cmd.Stdout, cmd.Stderr = &p.buf, &p.buf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start payrun: %v", err)
	}
	if o.killAfter > 0 {
		p.timer = time.AfterFunc(o.killAfter, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
	}
	return p
}

// wait waits for the process to end. A failure to wait is an error of t,
// not a fatal one, so that wait may run outside the test's goroutine.
func (p *payrunProc) wait(t testing.TB) runResult {
	t.Helper()
	err := p.cmd.Wait()
	if p.timer != nil {
		p.timer.Stop()
	}
	res := runResult{output: p.buf.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.killed = ws.Signal() == syscall.SIGKILL
			res.code = -1
		} else {
			res.code = ee.ExitCode()
		}
	default:
		t.Errorf("run payrun: %v", err)
		res.code = -2
	}
	if !res.killed && res.code != 0 && res.code != 1 {
		t.Logf("payrun exited %d:\n%s", res.code, lastLines(res.output, 15))
	}
	return res
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// ledgerRows reads every row of the ledger (the binary is not running): a
// file, or a postgres:// URL. A ledger file the first run never created
// yields nothing.
func ledgerRows(t testing.TB, path string) map[string]ledger.Row {
	t.Helper()
	rows := map[string]ledger.Row{}
	if isPostgres(path) {
		// The schema exists once a runner migrated it; before that there
		// are no rows to read.
		if !pgMigrated(t, path) {
			return rows
		}
	} else if _, err := os.Stat(path); err != nil {
		return rows
	}
	l, err := ledger.Open(context.Background(), path, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open ledger: %v", err)
	}
	defer l.Close()
	for r, err := range l.Rows(context.Background(), ledger.RowFilter{}) {
		if err != nil {
			t.Fatalf("read ledger: %v", err)
		}
		rows[r.ID] = r
	}
	return rows
}

// allFinal reports whether every row of sh is final in rows.
func allFinal(sh sheet, rows map[string]ledger.Row) bool {
	for id := range sh.want {
		if r, ok := rows[id]; !ok || !r.State.Final() {
			return false
		}
	}
	return true
}

// resumeUntilDone re-runs without faults until every row is final, at
// most tries times; it returns the runs it took.
func resumeUntilDone(t testing.TB, sh sheet, o runOpts, tries int) int {
	t.Helper()
	o.faultpoint, o.killAfter = "", 0
	for i := 1; i <= tries; i++ {
		res := runPayrun(t, o)
		if res.code != 0 && res.code != 1 {
			continue
		}
		if allFinal(sh, ledgerRows(t, o.ledger)) {
			return i
		}
	}
	return tries
}
