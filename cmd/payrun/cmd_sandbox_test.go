package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSandboxCommandServesAndStops(t *testing.T) {
	out := &syncBuffer{}
	m := NewMain()
	m.Stdout, m.Stderr = out, out
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&SandboxCommand{}).Run(ctx, m, []string{"--listen", "127.0.0.1:0", "--api-key", "cmd-key",
			"--balance", "USD=500", "--balance", "BTC=1", "--manual-clock"})
	}()
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+/v1\.0\.0/payout)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no listen line: %q", out.String())
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if !strings.Contains(out.String(), "cmd-key") || !strings.Contains(out.String(), strings.TrimSuffix(base, "/payout")) {
		t.Errorf("banner lacks the key or the SDK base: %q", out.String())
	}
	req, _ := http.NewRequest("GET", base+"/account/balance", nil)
	req.Header.Set("Authorization", "Bearer cmd-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var bals []struct {
		Balance      json.Number `json:"balance"`
		CurrencyCode string      `json:"currency_code"`
	}
	json.NewDecoder(resp.Body).Decode(&bals)
	resp.Body.Close()
	if len(bals) != 2 || bals[0].CurrencyCode != "BTC" || bals[1].Balance != "500" {
		t.Errorf("balances from --balance: %+v", bals)
	}
	adv, _ := http.NewRequest("POST", strings.TrimSuffix(base, "/v1.0.0/payout")+"/_sandbox/clock/advance?by=3m", nil)
	adv.Header.Set("Authorization", "cmd-key")
	if resp, err := http.DefaultClient.Do(adv); err != nil || resp.StatusCode != 200 {
		t.Errorf("manual clock advance: %v %v", err, resp)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil || ExitCode(err) != ExitOK {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop")
	}
}

func TestSandboxCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--error-rate", "2"}, {"--balance", "USD"}, {"extra"}, {"--listen", "256.0.0.1:99999"}} {
		m := NewMain()
		m.Stdout, m.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
		if err := (&SandboxCommand{}).Run(context.Background(), m, args); ExitCode(err) != ExitUsage {
			t.Errorf("%v: %v (exit %d), want usage error", args, err, ExitCode(err))
		}
	}
}

// runSandbox starts `payrun sandbox args...` and returns its API base URL
// and a function that stops it and checks it exited cleanly.
func runSandbox(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	out := &syncBuffer{}
	m := NewMain()
	m.Stdout, m.Stderr = out, out
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&SandboxCommand{}).Run(ctx, m, args) }()
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+/v1\.0\.0/payout)`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], func() {
				t.Helper()
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("sandbox stopped with %v", err)
				}
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("sandbox ended: %v: %s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no listen line: %q", out.String())
		}
	}
}

func TestSandboxCommandStateSurvivesRestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "sandbox.json")
	send := func(method, url, body string) (int, string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sandbox-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
	}
	base, stop := runSandbox(t, "--listen", "127.0.0.1:0", "--state", state)
	st, created := send("POST", base+"/user", `{"internal_user_id":"st-1","country":"USA","first_name":"Sam","last_name":"T","email":"sam@example.com"}`)
	if st != 200 {
		t.Fatalf("create user: %d %s", st, created)
	}
	stop()

	base, stop = runSandbox(t, "--listen", "127.0.0.1:0", "--state", state, "--seed", "1")
	defer stop()
	st, found := send("GET", base+"/user/lookup?internal_user_id=st-1", "")
	tok := regexp.MustCompile(`usr_[0-9a-f-]{36}`).FindString(created)
	if st != 200 || tok == "" || !strings.Contains(found, tok) {
		t.Errorf("user after restart: %d %s (created %s)", st, found, created)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o600)
	m := NewMain()
	var out bytes.Buffer
	m.Stdout, m.Stderr = &out, &out
	err := (&SandboxCommand{}).Run(context.Background(), m, []string{"--listen", "127.0.0.1:0", "--state", bad})
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt --state file: %v, want an error naming it", err)
	}
}

// TestSandboxCommandNoBestRoute: --no-best-route answers /best with 404 as
// an unknown path, and leaves /cheapest and the full list alone.
func TestSandboxCommandNoBestRoute(t *testing.T) {
	base, stop := runSandbox(t, "--listen", "127.0.0.1:0", "--no-best-route")
	defer stop()
	for path, want := range map[string]int{"/country/USA/best": 404, "/country/USA/cheapest": 200, "/country/USA": 200} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer sandbox-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 404 && !strings.Contains(string(body), "no such path")) {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, body, want)
		}
	}
}
