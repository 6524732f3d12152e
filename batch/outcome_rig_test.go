package batch

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
	"github.com/shopspring/decimal"
)

// proxied is one answer of the proxy.
type proxied struct {
	status int
	body   string
}

// proxyRule decides one request: return ok=false to pass it through
// untouched, or an answer of its own, having called forward (the request
// reaches MassPay) or not.
type proxyRule func(r *http.Request, body []byte, forward func() proxied) (proxied, bool)

// hostileProxy forwards to the sandbox and applies its rule.
type hostileProxy struct {
	mu     sync.Mutex
	target string
	rule   proxyRule
}

func (p *hostileProxy) setRule(rule proxyRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rule = rule
}

func (p *hostileProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	forward := func() proxied {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			return proxied{502, `{"title":"proxy"}`}
		}
		req.Header = r.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return proxied{502, `{"title":"proxy"}`}
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return proxied{res.StatusCode, string(b)}
	}
	p.mu.Lock()
	defer p.mu.Unlock() // one request at a time: rules count without races
	ans, ok := proxied{}, false
	if p.rule != nil {
		ans, ok = p.rule(r, body, forward)
	}
	if !ok {
		ans = forward()
	}
	if ans.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(ans.status)
	io.WriteString(w, ans.body)
}

// newHostileRig is a rig whose client talks to the sandbox through a
// hostileProxy.
func newHostileRig(t *testing.T, o rigOptions) (*rig, *hostileProxy) {
	t.Helper()
	g := newRig(t, o)
	p := &hostileProxy{target: "http://" + g.srv.Addr()}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	api, err := masspay.New(masspay.Config{BaseURL: strings.Replace(g.srv.URL(), "http://"+g.srv.Addr(), ps.URL, 1),
		APIKey: sandbox.DefaultAPIKey, HTTPClient: &http.Client{Transport: g.calls}, MaxRetries: o.maxRetries,
		MinRetryBackoff: 5 * time.Millisecond, MaxRetryBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g.api = api
	return g, p
}

// auditHTTP reads GET /_sandbox/audit, straight from the sandbox.
func (g *rig) auditHTTP() sandbox.Audit {
	g.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+g.srv.Addr()+"/_sandbox/audit", nil)
	req.Header.Set("Authorization", "Bearer "+sandbox.DefaultAPIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer res.Body.Close()
	var a sandbox.Audit
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != 200 {
		g.t.Fatalf("audit: %d %v", res.StatusCode, err)
	}
	return a
}

// committedFor returns the audit's committed payouts whose
// client_transfer_id is id or derived from it ("id#...").
func committedFor(a sandbox.Audit, id string) []sandbox.AuditPayout {
	var out []sandbox.AuditPayout
	for _, p := range a.Payouts {
		if p.Committed && (p.ClientTransferID == id || strings.HasPrefix(p.ClientTransferID, id+"#")) {
			out = append(out, p)
		}
	}
	return out
}

// loadsFor returns the audit's loads under client_load_id id.
func loadsFor(a sandbox.Audit, id string) []sandbox.AuditLoad {
	var out []sandbox.AuditLoad
	for _, l := range a.Loads {
		if l.ClientLoadID == id {
			out = append(out, l)
		}
	}
	return out
}

// Which request a rule is looking at. Paths are under /v1.0.0/payout.
func isCommit(r *http.Request) bool { return r.Method == http.MethodPut && apiSegs(r) == 2 }

func isInitiate(r *http.Request) bool {
	return r.Method == http.MethodPost && apiSegs(r) == 1 && !strings.HasSuffix(r.URL.Path, "/user")
}

func isLoad(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/payout/load/")
}

func isLoadList(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/payout/load/")
}

func isHistory(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/history")
}

func apiSegs(r *http.Request) int {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1.0.0/payout"), "/")
	if rest == "" {
		return 0
	}
	return len(strings.Split(rest, "/"))
}

// paidRow checks that row id is PAID with the one payout the audit shows
// committed for it, of amount (source side).
func paidRow(t *testing.T, g *rig, id, amount string) {
	t.Helper()
	row := must(g.led.Row(g.ctx, id))(t)
	got := committedFor(g.auditHTTP(), id)
	if len(got) != 1 {
		t.Fatalf("%s: audit shows %d committed payouts, want 1: %+v", id, len(got), got)
	}
	if row.State != ledger.StatePaid || row.PayoutToken != got[0].PayoutToken {
		t.Fatalf("%s: %s %s (%s), want PAID with MassPay's %s", id, row.State, row.PayoutToken, row.LastError, got[0].PayoutToken)
	}
	if !got[0].SourceAmount.Equal(decimal.RequireFromString(amount)) || !row.SourceAmount.Decimal.Equal(got[0].SourceAmount) {
		t.Errorf("%s: ledger %v, MassPay %s, want %s", id, row.SourceAmount, got[0].SourceAmount, amount)
	}
}

// loadedRow checks that row id is LOADED with the one load the audit shows.
func loadedRow(t *testing.T, g *rig, id, amount string) {
	t.Helper()
	row := must(g.led.Row(g.ctx, id))(t)
	got := loadsFor(g.auditHTTP(), id)
	if len(got) != 1 {
		t.Fatalf("%s: audit shows %d loads, want 1: %+v", id, len(got), got)
	}
	if row.State != ledger.StateLoaded || row.LoadToken != got[0].LoadToken {
		t.Fatalf("%s: %s %s (%s), want LOADED with MassPay's %s", id, row.State, row.LoadToken, row.LastError, got[0].LoadToken)
	}
	if !got[0].Amount.Equal(decimal.RequireFromString(amount)) || !row.SourceAmount.Decimal.Equal(got[0].Amount) {
		t.Errorf("%s: ledger %v, MassPay %s, want %s", id, row.SourceAmount, got[0].Amount, amount)
	}
}

// prePay commits a payout for line under its client_transfer_id straight
// through MassPay (an earlier tool, a lost ledger), of amount.
func prePay(t *testing.T, g *rig, line sheetLine, amount string) string {
	t.Helper()
	ctx := g.ctx
	user := must(g.api.CreateUser(ctx, "pre-user-"+line.id, masspay.User{Profile: masspay.Profile{InternalUserID: line.user, Country: "USA",
		FirstName: line.first, LastName: line.last, Email: line.email}}))(t)
	dst := must(g.api.BestRoutes(ctx, "USA", masspay.RouteParams{SourceCurrency: "USD", DestinationCurrency: "USD", OnlyGenericPayers: true}))(t)
	var route masspay.Route
	for _, rt := range dst.Routes() {
		if rt.DeliveryType == "BANK_DEPOSIT" {
			route = rt
		}
	}
	reqs := must(g.api.Attributes(ctx, user.UserToken, route.DestinationToken, "USD"))(t)
	var vals []masspay.AttrValue
	for _, r := range reqs {
		v := map[string]string{"BankAccountNumber": "12345678", "BankRoutingNumber": "021000021"}[r.Type]
		vals = append(vals, masspay.AttrValue{Token: r.Token, Value: v})
	}
	set := must(g.api.StoreAttributes(ctx, "pre-attrs-"+line.id, user.UserToken, route.DestinationToken, "USD", masspay.AttrTxn{Values: vals}))(t)
	amt := decimal.RequireFromString(amount)
	q := must(g.api.InitiatePayout(ctx, "pre-init-"+line.id, user.UserToken, masspay.PayoutTxn{ClientTransferID: line.id,
		SourceCurrencyCode: "USD", DestinationCurrencyCode: "USD", SourceToken: g.usdSource(), DestinationToken: route.DestinationToken,
		AttrSetToken: set.AttrSetToken, SourceAmount: &amt}))(t)
	must(g.api.CommitPayout(ctx, "pre-commit-"+line.id, user.UserToken, q.PayoutToken))(t)
	return q.PayoutToken
}

// preLoad loads line's payee under its client_transfer_id straight through
// MassPay, of amount.
func preLoad(t *testing.T, g *rig, line sheetLine, amount string) string {
	t.Helper()
	user := must(g.api.CreateUser(g.ctx, "pre-user-"+line.id, masspay.User{Profile: masspay.Profile{InternalUserID: line.user, Country: "USA",
		FirstName: line.first, LastName: line.last, Email: line.email}}))(t)
	l := must(g.api.Load(g.ctx, "pre-load-"+line.id, user.UserToken, masspay.LoadTxn{ClientLoadID: line.id,
		SourceToken: g.usdSource(), Amount: decimal.RequireFromString(amount), SourceCurrencyCode: "USD"}))(t)
	return l.LoadToken
}

func (g *rig) usdSource() string {
	g.t.Helper()
	for _, b := range must(g.api.Balances(g.ctx))(g.t) {
		if b.CurrencyCode == "USD" {
			return b.Token
		}
	}
	g.t.Fatal("no USD balance")
	return ""
}

// runAllowingInFlight runs runID once; rows may stay in flight.
func (g *rig) runOnce(runID int64) {
	g.t.Helper()
	r := g.runner(1)
	r.UnknownOutcomeRetries = 3
	if _, err := r.Run(g.ctx, g.ctx, runID); err != nil {
		g.t.Fatalf("run %d: %v", runID, err)
	}
}
