package autopay

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// countingTransport only observes: it counts requests by method and passes
// each one unchanged to the real transport (a copy of the runner tests'
// one: test files cannot be shared).
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.Method]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(methods ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(methods) == 0 {
		t := 0
		for _, v := range c.n {
			t += v
		}
		return t
	}
	t := 0
	for _, m := range methods {
		t += c.n[m]
	}
	return t
}

func (c *countingTransport) reset() {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
}

// apWorld is a real embedded sandbox, a client to it that counts its
// requests, and a real ledger file.
type apWorld struct {
	t      *testing.T
	ctx    context.Context
	srv    *sandbox.Server
	api    *masspay.Client
	calls  *countingTransport
	ledger *ledger.Ledger
	usd    string // the USD source token
	dir    string
}

func newAPWorld(t *testing.T) *apWorld {
	t.Helper()
	srv, err := sandbox.Start(sandbox.Config{APIKey: "test-key", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ct := &countingTransport{n: map[string]int{}}
	api, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: "test-key", HTTPClient: &http.Client{Transport: ct}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, err := ledger.Open(context.Background(), filepath.Join(dir, "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	w := &apWorld{t: t, ctx: context.Background(), srv: srv, api: api, calls: ct, ledger: l, dir: dir}
	bals, err := api.Balances(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bals {
		if b.CurrencyCode == "USD" {
			w.usd = b.Token
		}
	}
	return w
}

// payee creates a payee and, with a positive first load, opens its USD
// wallet. It returns the user token.
func (w *apWorld) payee(id, country, address string, firstLoad string) string {
	w.t.Helper()
	u, err := w.api.CreateUser(w.ctx, "user:"+id, masspay.User{Profile: masspay.Profile{InternalUserID: id, Country: country, FirstName: "F" + id,
		LastName: "L", Email: id + "@example.com", Address1: address}})
	if err != nil {
		w.t.Fatal(err)
	}
	if firstLoad != "" {
		w.load(u.UserToken, id+"-first", firstLoad)
	}
	return u.UserToken
}

func (w *apWorld) load(userToken, id, amount string) *masspay.LoadTxnResp {
	w.t.Helper()
	r, err := w.api.Load(w.ctx, id, userToken, masspay.LoadTxn{ClientLoadID: id, SourceToken: w.usd,
		Amount: decimal.RequireFromString(amount), SourceCurrencyCode: "USD"})
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

func (w *apWorld) wallet(userToken string) masspay.Wallet {
	w.t.Helper()
	wl, err := walletIn(w.ctx, w.api, userToken, "USD")
	if err != nil {
		w.t.Fatal(err)
	}
	return wl
}

func (w *apWorld) rules(userToken string) []masspay.AutopayRule {
	w.t.Helper()
	rs, err := w.api.AutopayRules(w.ctx, userToken, w.wallet(userToken).Token)
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

func (w *apWorld) plan(path string) *AutopayPlan {
	w.t.Helper()
	s, err := ReadAutopaySheet(path, ingest.IngestOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := PlanAutopay(w.ctx, w.api, w.ledger, s)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *apWorld) autopayEvents() []ledger.Event {
	w.t.Helper()
	var out []ledger.Event
	for ev, err := range w.ledger.Events(w.ctx, ledger.EventFilter{Kind: EventAutopay}) {
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// mexBank is the MEX generic bank route's destination token.
func (w *apWorld) route(country, delivery, payer string) string {
	w.t.Helper()
	cs, err := w.api.BestRoutes(w.ctx, country, masspay.RouteParams{SourceCurrency: "USD"})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range cs.Routes() {
		if r.DeliveryType == delivery && r.PayerName == payer {
			return r.DestinationToken
		}
	}
	w.t.Fatalf("no route %s %s %s", country, delivery, payer)
	return ""
}

func problemRules(ps sheet.Problems) map[string]int {
	m := map[string]int{}
	for _, p := range ps {
		m[p.Rule]++
	}
	return m
}

// writeFile writes content to a file named name in a fresh temp dir.
func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
