package console

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// TestRunWaitsOutA429OnTheBalanceCheck: the console's Pay read the opening
// balances with a bare Balances call, so MassPay answering 429 more often
// than the client's own retries cover failed the run's start, where payrun
// run (routing.FetchBalances) waits as asked and goes on. Here the embedded
// sandbox answers the balance call 429 (Retry-After: 1) five times in a row
// once Pay is pressed.
func TestRunWaitsOutA429OnTheBalanceCheck(t *testing.T) {
	var (
		mu      sync.Mutex
		armed   int // balance calls still to refuse
		refused int
	)
	// The console's client talks to the sandbox through a front that
	// refuses balance calls while armed.
	e := newEnv(t, func(cfg *Config) {
		target, err := url.Parse(cfg.API.(*masspay.Client).BaseURL())
		if err != nil {
			t.Fatal(err)
		}
		prefix := target.Path
		target.Path = ""
		proxy := httputil.NewSingleHostReverseProxy(target)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/account/balance") {
				mu.Lock()
				refuse := armed > 0
				if refuse {
					armed--
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
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(front.Close)
		client, err := masspay.New(masspay.Config{BaseURL: front.URL + prefix, APIKey: testAPIKey})
		if err != nil {
			t.Fatal(err)
		}
		cfg.API = client
	})
	alice, plan := approvedPlan(e, smallSheet("b429"))
	mu.Lock()
	armed = 5
	mu.Unlock()
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run while MassPay answers the balance call 429 = %d, want it started\n%s", resp.StatusCode, body)
	}
	p := waitRun(t, alice, resp.Header.Get("Location"))
	if p.Status != string(ledger.RunFinished) || p.Done != 3 {
		t.Fatalf("final progress = %+v", p)
	}
	mu.Lock()
	defer mu.Unlock()
	if refused != 5 {
		t.Fatalf("balance calls refused: %d, want 5", refused)
	}
}
