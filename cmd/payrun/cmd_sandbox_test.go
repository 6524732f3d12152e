package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
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
