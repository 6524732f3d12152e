package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/masspay/sandbox"
)

// TestRunWaitsOutA429OnTheOpeningBalanceCheck: MassPay answers the first
// five balance checks 429 with Retry-After: 1, more than the client's own
// retries take. The run aborted (exit 3, "fetch balances: ... 429"); it
// must wait as asked and go on, as for any other call.
func TestRunWaitsOutA429OnTheOpeningBalanceCheck(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{APIKey: sandboxKey, Balances: map[string]decimal.Decimal{
		"USD": decimal.NewFromInt(1_000_000), "BTC": decimal.NewFromInt(100), "ETH": decimal.NewFromInt(1000),
		"USDT": decimal.NewFromInt(1_000_000)}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	refused := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/account/balance") {
			mu.Lock()
			refuse := refused < 5
			if refuse {
				refused++
			}
			mu.Unlock()
			if refuse {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				w.Write([]byte(`{"code":"429","message":"Too many requests","details":"slow down","timestamp":"2026-01-01T00:00:00Z"}`))
				return
			}
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); sb.Close() })
	env := map[string]string{"MASSPAY_API_KEY": sandboxKey, "MASSPAY_BASE_URL": srv.URL + "/v1.0.0/payout"}
	dir := t.TempDir()
	sheet := filepath.Join(dir, "s.csv")
	writeSheet(t, sheet, "BAL", 1, 2, 3)
	code, out, errs := runIn(t, env, "run", "--yes", "--ledger", filepath.Join(dir, "p.db"), "--out", filepath.Join(dir, "r.xlsx"), sheet)
	if code != 0 {
		t.Fatalf("run after 429s on the balance check: exit %d\n%s\n%s", code, out, errs)
	}
	if refused != 5 {
		t.Fatalf("balance checks refused: %d, want 5", refused)
	}
}
