package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/masspay/sandbox"
)

// TestInternalErrorRowNextStepWorks: MassPay refuses a load's key as
// reused with another request (IDEMPOTENCY_KEY_REUSED), so the row stops
// on an internal error, which no command releases. payrun status (the real
// binary) must name next steps that exist and work: a re-run leaves the
// row alone (its key is never sent again), and the payment re-entered under
// a new client_transfer_id is paid. It told the user to "record it" in the
// ledger, which no command does.
func TestInternalErrorRowNextStepWorks(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{APIKey: sandboxKey, Balances: map[string]decimal.Decimal{"USD": decimal.NewFromInt(1_000_000)}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sent := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/load/") && r.Header.Get("Idempotency-Key") == "IE-00" {
			mu.Lock()
			sent++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"title":"Idempotency key reused","message":"Idempotency-Key was reused with a different request","code":"IDEMPOTENCY_KEY_REUSED","error":{"reason":"idempotency_key_reused","details":["Idempotency-Key"]}}`))
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); sb.Close() })
	dir := t.TempDir()
	led := filepath.Join(dir, "p.db")
	bin := func(args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(payrunBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "MASSPAY_API_KEY="+sandboxKey, "MASSPAY_BASE_URL="+srv.URL+"/v1.0.0/payout")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String()
	}
	sheet := filepath.Join(dir, "june.csv")
	writeFreelancerSheet(t, sheet, "IE", 1)
	if code, out := bin("run", "--yes", "--ledger", led, "--out", filepath.Join(dir, "r1.xlsx"), sheet); code != ExitAttention {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	code, status := bin("status", "--ledger", led)
	if code != ExitAttention || !strings.Contains(status, "IE-00 [NEEDS_ACTION]: Internal error") {
		t.Fatalf("status: exit %d, no internal-error row:\n%s", code, status)
	}
	var next string
	for _, line := range strings.Split(status, "\n") {
		if _, n, ok := strings.Cut(line, "next: "); ok {
			next = n
		}
	}
	t.Logf("next: %s", next)
	if strings.Contains(next, "record it") {
		t.Errorf("status names a step no command does (record it in the ledger): %s", next)
	}
	for _, want := range []string{"MassPay dashboard", "new client_transfer_id", "leave this row"} {
		if !strings.Contains(next, want) {
			t.Errorf("next step lacks %q: %s", want, next)
		}
	}

	// Step 1 as named: a re-run leaves the row; its key goes out no more.
	if code, out := bin("run", "--yes", "--ledger", led, "--out", filepath.Join(dir, "r2.xlsx"), sheet); code != ExitAttention {
		t.Fatalf("re-run: exit %d\n%s", code, out)
	}
	if sent != 1 {
		t.Errorf("the refused key was sent %d times, want once: a re-run sent it again", sent)
	}
	// Step 2 as named: the payment under a new client_transfer_id is paid.
	again := filepath.Join(dir, "june-again.csv")
	writeFreelancerSheet(t, again, "IE-NEW", 1)
	if code, out := bin("run", "--yes", "--ledger", led, "--out", filepath.Join(dir, "r3.xlsx"), again); code != 0 {
		t.Fatalf("re-entered under a new client_transfer_id: exit %d\n%s", code, out)
	}
	if code, st := bin("status", "--ledger", led); code != 0 || !strings.Contains(st, "LOADED 1") {
		t.Errorf("status of the re-entered payment: exit %d\n%s", code, st)
	}
}
