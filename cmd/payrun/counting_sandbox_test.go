package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/masspay/sandbox"
)

// countingSandbox is the real embedded sandbox behind a handler that counts
// the requests it answers by method and endpoint, so a test can say which
// MassPay calls a command made.
type countingSandbox struct {
	*sandbox.Sandbox
	srv   *httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

// startCountingSandbox serves a fresh sandbox, with balances deep enough for
// 100,000 rows, on 127.0.0.1.
func startCountingSandbox(t testing.TB) *countingSandbox {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{APIKey: sandboxKey, Balances: map[string]decimal.Decimal{
		"USD": decimal.NewFromInt(100_000_000), "BTC": decimal.NewFromInt(1000),
		"ETH": decimal.NewFromInt(100_000), "USDT": decimal.NewFromInt(100_000_000)}})
	if err != nil {
		t.Fatal(err)
	}
	c := &countingSandbox{Sandbox: sb, calls: map[string]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.calls[r.Method+" "+endpoint(r.URL.Path)]++
		c.mu.Unlock()
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { c.srv.Close(); sb.Close() })
	return c
}

// endpoint is a request path's first segment after the API prefix, with a
// user token named as such, so calls group by endpoint.
func endpoint(p string) string {
	seg, _, _ := strings.Cut(strings.Trim(strings.TrimPrefix(p, "/v1.0.0/payout"), "/"), "/")
	if strings.HasPrefix(seg, "usr_") {
		seg = "{user_token}"
	}
	return "/" + seg
}

// take returns the calls counted since the last take and starts afresh.
func (c *countingSandbox) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.calls
	c.calls = map[string]int{}
	return got
}

// env points payrun at the sandbox, with a client rate limit that only the
// machine bounds.
func (c *countingSandbox) env() map[string]string {
	return map[string]string{"MASSPAY_API_KEY": sandboxKey, "MASSPAY_BASE_URL": c.srv.URL + "/v1.0.0/payout",
		"PAYRUN_RATE_LIMIT": "100000"}
}

// formatCalls prints counted calls sorted by endpoint.
func formatCalls(m map[string]int) string {
	ks := make([]string, 0, len(m))
	for k, n := range m {
		ks = append(ks, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}
