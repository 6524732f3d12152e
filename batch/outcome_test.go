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

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// The tests of issue 17's cases put a small proxy between the runner and the
// real embedded sandbox: it forwards each request and may replace MassPay's
// answer (the money moved, the runner hears something else), or answers
// itself without forwarding (the money did not move). Each test then checks
// the row's state against the sandbox's audit view, read over HTTP.

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

// Case 2: a commit answered 200 with an empty body, or with a status the
// client does not know, may have gone through: the row is not FAILED; the
// next attempt asks MassPay and finds the payout committed.
func TestOutcomeCase2UnclearCommitAnswerIsNotAFailure(t *testing.T) {
	for name, body := range map[string]string{
		"empty body":     ``,
		"unknown status": `{"status":"queued_for_review"}`,
	} {
		t.Run(name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{})
			n := 0
			p.setRule(func(r *http.Request, _ []byte, forward func() proxied) (proxied, bool) {
				if !isCommit(r) {
					return proxied{}, false
				}
				n++
				if n > 1 {
					return proxied{}, false
				}
				forward() // MassPay commits; the runner hears something else
				return proxied{200, body}, true
			})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{bankLine("C2-1", 1, "120.00")}))
			g.run(runID, 1)
			paidRow(t, g, "C2-1", "120.00")
		})
	}
}

// Case 2 for loads: a load answered 200 with an empty body or a status the
// client does not know says nothing about the money; whether the load
// reached MassPay or not, the row ends LOADED exactly once, never LOADED
// without a load.
func TestOutcomeCase2UnclearLoadAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		forward    bool
	}{
		{"empty body, loaded", ``, true},
		{"empty body, not loaded", ``, false},
		{"unknown status, loaded", `{"load_token":"ld_x","status":"QUEUED","wallet_token":"w"}`, true},
		{"no load_token, not loaded", `{"status":"COMPLETED"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{})
			n := 0
			p.setRule(func(r *http.Request, _ []byte, forward func() proxied) (proxied, bool) {
				if !isLoad(r) {
					return proxied{}, false
				}
				n++
				if n > 1 {
					return proxied{}, false
				}
				if tc.forward {
					forward()
				}
				return proxied{200, tc.body}, true
			})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{loadLine("C2-LOAD", 1, "45.00")}))
			g.run(runID, 1)
			loadedRow(t, g, "C2-LOAD", "45.00")
		})
	}
}

// Case 3: a payout or load found after DUPLICATE is adopted only if it is
// the row's money; one of another amount makes the row a CONFLICT showing
// both sides, and nothing more is paid.
func TestOutcomeCase3AdoptionChecksTheMoney(t *testing.T) {
	t.Run("payout", func(t *testing.T) {
		g := newRig(t, rigOptions{})
		line := bankLine("C3-PAY", 1, "210.00")
		tok := prePay(t, g, line, "5.00")
		runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
		g.run(runID, 1)
		row := must(g.led.Row(g.ctx, line.id))(t)
		if row.State != ledger.StateConflict {
			t.Fatalf("row %s (%s %v), want CONFLICT", row.State, row.PayoutToken, row.SourceAmount)
		}
		for _, want := range []string{tok, "5", "210"} {
			if !strings.Contains(row.LastError, want) {
				t.Errorf("reason %q does not show %q", row.LastError, want)
			}
		}
		got := committedFor(g.auditHTTP(), line.id)
		if len(got) != 1 || got[0].PayoutToken != tok || !got[0].SourceAmount.Equal(decimal.RequireFromString("5.00")) {
			t.Errorf("audit: %+v, want only the earlier 5.00 payout %s", got, tok)
		}
	})
	t.Run("load", func(t *testing.T) {
		g := newRig(t, rigOptions{})
		line := loadLine("C3-LOAD", 2, "210.00")
		tok := preLoad(t, g, line, "5.00")
		runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
		g.run(runID, 1)
		row := must(g.led.Row(g.ctx, line.id))(t)
		if row.State != ledger.StateConflict {
			t.Fatalf("row %s (%s %v), want CONFLICT", row.State, row.LoadToken, row.SourceAmount)
		}
		for _, want := range []string{tok, "5", "210"} {
			if !strings.Contains(row.LastError, want) {
				t.Errorf("reason %q does not show %q", row.LastError, want)
			}
		}
		if got := loadsFor(g.auditHTTP(), line.id); len(got) != 1 || got[0].LoadToken != tok {
			t.Errorf("audit: %+v, want only the earlier 5.00 load %s", got, tok)
		}
	})
}

// Case 4: a look-up after DUPLICATE that fails (a 4xx, an answer shaped
// like a compliance hold or NSF) leaves the row in flight; once MassPay
// answers, the row is settled from what it shows.
func TestOutcomeCase4LookupFailureAfterDuplicateStaysInFlight(t *testing.T) {
	kyc := `{"title":"Compliance hold","message":"User is on a compliance hold. Documents required: https://sandbox.masspay.example/kyc/upload/x","code":"KYC_HOLD","error":{"reason":"kyc_hold","details":["https://sandbox.masspay.example/kyc/upload/x"]}}`
	for _, tc := range []struct {
		name, status, body string
	}{
		{"kyc-shaped", "403", kyc},
		{"nsf-shaped", "400", `{"title":"Bad Request","message":"insufficient funds","code":"NSF"}`},
		{"plain 4xx", "400", `{"title":"Bad Request","message":"bad page"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{})
			pay := bankLine("C4-PAY", 1, "210.00")
			load := loadLine("C4-LOAD", 2, "60.00")
			tok := prePay(t, g, pay, "210.00")
			preLoad(t, g, load, "60.00")
			status := map[string]int{"403": 403, "400": 400}[tc.status]
			p.setRule(func(r *http.Request, _ []byte, _ func() proxied) (proxied, bool) {
				if isHistory(r) || isLoadList(r) {
					return proxied{status, tc.body}, true
				}
				return proxied{}, false
			})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{pay, load}))
			g.runOnce(runID)
			for id, want := range map[string]ledger.State{pay.id: ledger.StateInitiating, load.id: ledger.StateLoadSent} {
				row := must(g.led.Row(g.ctx, id))(t)
				if row.State != want {
					t.Errorf("%s with MassPay's look-ups failing: %s (%s), want %s", id, row.State, row.LastError, want)
				}
			}
			if got := committedFor(g.auditHTTP(), pay.id); len(got) != 1 || got[0].PayoutToken != tok {
				t.Errorf("audit: %+v", got)
			}
			p.setRule(nil)
			g.run(runID, 1)
			paidRow(t, g, pay.id, "210.00")
			loadedRow(t, g, load.id, "60.00")
		})
	}
}

// Case 6: a 4xx that answers the re-send of a call whose first attempt's
// outcome was unknown is not a refusal: the first attempt may have done it.
// The runner asks MassPay and finds the money moved.
func TestOutcomeCase6FourXXAfterUnknownIsNotARefusal(t *testing.T) {
	for _, tc := range []struct {
		name string
		// maxRetries -1: the runner re-sends; 0: the client's own retry does.
		maxRetries int
	}{{"runner retry", -1}, {"client retry", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{maxRetries: tc.maxRetries})
			loads, commits := 0, 0
			p.setRule(func(r *http.Request, _ []byte, forward func() proxied) (proxied, bool) {
				switch {
				case isLoad(r):
					loads++
					if loads == 1 {
						forward()
						return proxied{502, `{"title":"Bad Gateway"}`}, true
					}
					return proxied{400, `{"title":"Bad Request","message":"load refused","code":"LOAD_REFUSED","error":{"reason":"load_refused"}}`}, true
				case isCommit(r):
					commits++
					if commits == 1 {
						forward()
						return proxied{500, `{"title":"Internal Server Error"}`}, true
					}
					return proxied{400, `{"title":"Bad Request","message":"payout is not awaiting commit","code":"INVALID_STATE"}`}, true
				}
				return proxied{}, false
			})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{loadLine("C6-LOAD", 1, "70.00"), bankLine("C6-PAY", 2, "80.00")}))
			g.run(runID, 1)
			loadedRow(t, g, "C6-LOAD", "70.00")
			paidRow(t, g, "C6-PAY", "80.00")
		})
	}
}

// Case 6, bare 409: a 409 without MassPay's in-flight code (a proxy, a
// gateway) on an initiate or commit says nothing about the money: the row
// stays in flight, asks MassPay, and settles from what it shows.
func TestOutcomeCase6Bare409IsUnknown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		call    func(*http.Request) bool
		forward bool // whether the answered request reached MassPay
	}{{"initiate, not forwarded", isInitiate, false}, {"commit, forwarded", isCommit, true}} {
		t.Run(tc.name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{maxRetries: -1})
			n := 0
			p.setRule(func(r *http.Request, _ []byte, forward func() proxied) (proxied, bool) {
				if !tc.call(r) {
					return proxied{}, false
				}
				n++
				if n > 1 {
					return proxied{}, false
				}
				if tc.forward {
					forward()
				}
				return proxied{409, `{"title":"Conflict"}`}, true
			})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{bankLine("C6-409", 1, "85.00")}))
			g.run(runID, 1)
			paidRow(t, g, "C6-409", "85.00")
		})
	}
}

// Case 6, after a crash: a row an earlier process left in committing may
// have been committed (the process died before the answer). If MassPay no
// longer replays the key and refuses the re-send with a 4xx, the row must
// not be FAILED: its first attempt in the new process asks MassPay.
func TestOutcomeCase6ResumedRowAsksFirst(t *testing.T) {
	g, p := newHostileRig(t, rigOptions{maxRetries: -1})
	runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{bankLine("C6-RES", 1, "95.00")}))
	r := g.runner(1)
	r.defaults()
	if err := r.loadSources(g.ctx); err != nil {
		t.Fatal(err)
	}
	row := must(g.led.Row(g.ctx, "C6-RES"))(t)
	for row.State != ledger.StateCommitting {
		row = must(r.step(g.ctx, row))(t)
		if row.State.Final() {
			t.Fatalf("row ended %s before commit: %s", row.State, row.LastError)
		}
	}
	// The earlier process sent the commit and died before the answer.
	must(g.api.CommitPayout(g.ctx, ledger.CommitKey(row.ID, row.QuoteSeq), row.UserToken, row.PayoutToken))(t)
	// MassPay has forgotten the key: a re-send is refused.
	p.setRule(func(r *http.Request, _ []byte, _ func() proxied) (proxied, bool) {
		if isCommit(r) {
			return proxied{400, `{"title":"Bad Request","message":"payout is not awaiting commit","code":"INVALID_STATE"}`}, true
		}
		return proxied{}, false
	})
	g.run(runID, 1)
	paidRow(t, g, "C6-RES", "95.00")
}

// A 4xx (or a KYC- or NSF-shaped refusal) put in front of a load or commit
// MassPay did, by a gateway or proxy, on the first attempt: the refusal ends
// the row only once MassPay shows nothing moved, so the row is adopted.
func TestOutcomeRefusalIsConfirmedWithMassPay(t *testing.T) {
	kyc := `{"title":"Compliance hold","message":"User is on a compliance hold.","code":"KYC_HOLD","error":{"reason":"kyc_hold","details":["https://sandbox.masspay.example/kyc/upload/x"]}}`
	for _, tc := range []struct {
		name   string
		call   func(*http.Request) bool
		status int
		body   string
	}{
		{"load 400", isLoad, 400, `{"title":"Bad Request","message":"refused","code":"LOAD_REFUSED"}`},
		{"load KYC-shaped", isLoad, 403, kyc},
		{"load NSF-shaped", isLoad, 400, `{"title":"Bad Request","message":"insufficient funds","code":"NSF"}`},
		{"commit 400", isCommit, 400, `{"title":"Bad Request","message":"refused"}`},
		{"commit KYC-shaped", isCommit, 403, kyc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{maxRetries: -1})
			n := 0
			p.setRule(func(r *http.Request, _ []byte, forward func() proxied) (proxied, bool) {
				if !tc.call(r) {
					return proxied{}, false
				}
				n++
				if n > 1 {
					return proxied{}, false
				}
				forward()
				return proxied{tc.status, tc.body}, true
			})
			line := loadLine("REF-1", 1, "55.00")
			if strings.HasPrefix(tc.name, "commit") {
				line = bankLine("REF-1", 1, "55.00")
			}
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
			g.run(runID, 1)
			if line.method == "load" {
				loadedRow(t, g, "REF-1", "55.00")
			} else {
				paidRow(t, g, "REF-1", "55.00")
			}
		})
	}
}

// A refusal's confirming look-up that is itself refused with a made-up 4xx
// shows nothing about the money: the row stays in flight and settles from
// MassPay later, never FAILED. Found by the hostile torture family (seed 30,
// mode 400): a commit applied behind a 400, its history look-up also 400.
func TestOutcomeRefusalWithRefusedLookUpStaysInFlight(t *testing.T) {
	for _, tc := range []struct {
		name   string
		call   func(*http.Request) bool
		lookup func(*http.Request) bool
		line   func(id string, n int, amount string) sheetLine
		paid   bool
	}{
		{"commit", isCommit, isHistory, bankLine, true},
		{"load", isLoad, isLoadList, loadLine, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{maxRetries: -1})
			calls, lookups := 0, 0
			p.setRule(func(r *http.Request, _ []byte, forward func() proxied) (proxied, bool) {
				switch {
				case tc.call(r):
					if calls++; calls == 1 {
						forward()
						return proxied{400, `{"title":"Bad Request","message":"the request could not be processed"}`}, true
					}
				case tc.lookup(r):
					if lookups++; lookups == 1 {
						return proxied{400, `{"title":"Bad Request","message":"the request could not be processed"}`}, true
					}
				}
				return proxied{}, false
			})
			line := tc.line("LU-400", 1, "61.00")
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
			g.runner(1).Run(g.ctx, g.ctx, runID) // may stop on the unknown; the row must not be final
			if row := must(g.led.Row(g.ctx, line.id))(t); row.State == ledger.StateFailed || row.State == ledger.StateNeedsAction {
				t.Fatalf("after a refused look-up: %s (%s), want in flight (MassPay moved the money)", row.State, row.LastError)
			}
			p.setRule(func(*http.Request, []byte, func() proxied) (proxied, bool) { return proxied{}, false })
			g.run(runID, 1)
			if tc.paid {
				paidRow(t, g, line.id, "61.00")
			} else {
				loadedRow(t, g, line.id, "61.00")
			}
		})
	}
}

// Case 7: the email + first-name look-up finding a MassPay user filed under
// another internal_user_id is not that payee: NEEDS_ACTION naming both ids,
// and no money moves.
func TestOutcomeCase7PayeeByEmailWithOtherInternalID(t *testing.T) {
	g := newRig(t, rigOptions{})
	line := loadLine("C7-LOAD", 1, "90.00")
	other := must(g.api.CreateUser(g.ctx, "other-user", masspay.User{Profile: masspay.Profile{InternalUserID: "someone-else-77", Country: "USA",
		FirstName: line.first, LastName: "Other", Email: line.email}}))(t)
	runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
	g.run(runID, 1)
	row := must(g.led.Row(g.ctx, line.id))(t)
	if row.State != ledger.StateNeedsAction {
		t.Fatalf("row %s %s, want NEEDS_ACTION", row.State, row.UserToken)
	}
	for _, want := range []string{"someone-else-77", line.user} {
		if !strings.Contains(row.LastError, want) {
			t.Errorf("reason %q does not name %q", row.LastError, want)
		}
	}
	a := g.auditHTTP()
	if got := loadsFor(a, line.id); len(got) != 0 {
		t.Errorf("audit shows loads %+v", got)
	}
	for _, l := range a.Loads {
		if l.UserToken == other.UserToken {
			t.Errorf("money landed in the other user's wallet: %+v", l)
		}
	}
	if _, ok, _ := g.led.UserToken(g.ctx, line.user); ok {
		t.Error("the other user's token was cached for this payee")
	}
}

// Case 8a: a MassPay whose DUPLICATE covers any earlier use of a
// client_transfer_id, also an uncommitted quote. After a definite
// ex_rate_expired the fresh quote gets DUPLICATE and the history shows
// nothing: the row is paid once under a derived client_transfer_id.
func TestOutcomeCase8aDuplicateAfterExpiredQuote(t *testing.T) {
	clock := sandbox.NewManualClock(time.Now().UTC())
	g, p := newHostileRig(t, rigOptions{sandbox: sandbox.Config{Clock: clock}})
	used := map[string]string{} // client_transfer_id -> Idempotency-Key of its first initiate
	p.setRule(func(r *http.Request, body []byte, _ func() proxied) (proxied, bool) {
		if !isInitiate(r) {
			return proxied{}, false
		}
		var in struct {
			ClientTransferID string `json:"client_transfer_id"`
		}
		json.Unmarshal(body, &in)
		key := r.Header.Get("Idempotency-Key")
		if first, ok := used[in.ClientTransferID]; ok && first != key {
			return proxied{200, `{"payout_token":"DUPLICATE","status":"ERROR","client_transfer_id":"` + in.ClientTransferID + `"}`}, true
		}
		used[in.ClientTransferID] = key
		return proxied{}, false
	})
	runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{bankLine("C8A-1", 1, "310.00")}))
	r := g.runner(1)
	r.defaults()
	if err := r.loadSources(g.ctx); err != nil {
		t.Fatal(err)
	}
	row := must(g.led.Row(g.ctx, "C8A-1"))(t)
	for row.State != ledger.StateInitiated {
		row = must(r.step(g.ctx, row))(t)
		if row.State.Final() {
			t.Fatalf("row ended %s before it was initiated: %s", row.State, row.LastError)
		}
	}
	clock.Advance(3 * time.Minute) // the quote lapses: commit answers ex_rate_expired
	g.run(runID, 1)
	row = must(g.led.Row(g.ctx, "C8A-1"))(t)
	got := committedFor(g.auditHTTP(), "C8A-1")
	if row.State != ledger.StatePaid || len(got) != 1 || got[0].PayoutToken != row.PayoutToken {
		t.Fatalf("row %s %s (%s); audit %+v: want PAID once", row.State, row.PayoutToken, row.LastError, got)
	}
	if got[0].ClientTransferID == "C8A-1" || !got[0].SourceAmount.Equal(decimal.RequireFromString("310.00")) {
		t.Errorf("paid as %+v, want 310.00 under a derived client_transfer_id", got[0])
	}
	derived := false
	for _, ev := range g.events("C8A-1") {
		if strings.HasPrefix(ev.Message, "client_transfer_id derived") && strings.Contains(ev.Message, got[0].ClientTransferID) {
			derived = true
		}
	}
	if !derived {
		t.Error("no ledger event records the derived client_transfer_id before it was sent")
	}
}

// Case 8b: a 409 of any code on a load means "maybe loaded": the runner
// looks the load up by client_load_id before deciding.
func TestOutcomeCase8bLoad409AnyCode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		forward bool // the first load reached MassPay
	}{{"loaded, then 409", true}, {"409 without loading", false}} {
		t.Run(tc.name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{})
			n := 0
			p.setRule(func(r *http.Request, _ []byte, forward func() proxied) (proxied, bool) {
				if !isLoad(r) {
					return proxied{}, false
				}
				n++
				if n > 1 {
					return proxied{}, false
				}
				if tc.forward {
					forward()
				}
				return proxied{409, `{"title":"Conflict","message":"client_load_id already exists","code":"LOAD_EXISTS"}`}, true
			})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{loadLine("C8B-1", 1, "75.00")}))
			g.run(runID, 1)
			loadedRow(t, g, "C8B-1", "75.00")
		})
	}
}

// TestClassifyOutcomeTable checks classifyOutcome against the table in its
// doc comment, one line per row of it.
func TestClassifyOutcomeTable(t *testing.T) {
	api := func(status int, code string) error { return &masspay.APIError{StatusCode: status, Code: code} }
	payout := func(kind error) error { return &masspay.PayoutError{Kind: kind} }
	for _, tc := range []struct {
		name       string
		call       moneyCall
		err        error
		unresolved bool
		want       verdict
	}{
		{"success", callCommit, nil, false, verdictDone},
		{"401", callLoad, api(401, ""), false, verdictAbort},
		{"reset after send", callLoad, &masspay.TransportError{Sent: true, Err: io.ErrUnexpectedEOF}, false, verdictUnknown},
		{"5xx", callInitiate, api(502, ""), false, verdictUnknown},
		{"429", callCommit, api(429, ""), false, verdictUnknown},
		{"key in use", callCommit, api(409, "IDEMPOTENCY_KEY_IN_USE"), false, verdictUnknown},
		{"empty or unknown commit status", callCommit, payout(masspay.ErrUnclearAnswer), false, verdictUnknown},
		{"key reused", callLoad, api(422, "IDEMPOTENCY_KEY_REUSED"), false, verdictInternal},
		{"DUPLICATE load", callLoad, api(409, "DUPLICATE"), false, verdictMaybeDone},
		{"DUPLICATE token", callInitiate, payout(masspay.ErrDuplicate), false, verdictMaybeDone},
		{"other 409 on a load", callLoad, api(409, "LOAD_EXISTS"), false, verdictMaybeDone},
		{"bare 409 on an initiate", callInitiate, api(409, ""), false, verdictUnknown},
		{"bare 409 on a commit", callCommit, api(409, ""), false, verdictUnknown},
		{"KYC hold", callLoad, api(403, "KYC_HOLD"), false, verdictPerson},
		{"NSF", callInitiate, payout(masspay.ErrInsufficientFunds), false, verdictPerson},
		{"addtl_attr_req", callCommit, payout(masspay.ErrAdditionalAttributes), false, verdictPerson},
		{"ex_rate_expired", callCommit, payout(masspay.ErrQuoteExpired), false, verdictRequote},
		{"failure", callCommit, payout(masspay.ErrCommitFailed), false, verdictRefused},
		{"4xx", callLoad, api(400, "LOAD_REFUSED"), false, verdictRefused},
		{"4xx after an unknown attempt", callLoad, api(400, "LOAD_REFUSED"), true, verdictUnknown},
		{"unreadable answer", callCommit, io.ErrUnexpectedEOF, false, verdictUnknown},
	} {
		if got := classifyOutcome(tc.call, tc.err, tc.unresolved); got != tc.want {
			t.Errorf("%s (%s): verdict %d, want %d", tc.name, tc.call, got, tc.want)
		}
	}
}

// TestDerivedTransferIDFitsMassPay checks the derived client_transfer_id:
// the quote's key when it fits in MassPay's 50 characters, else cut with a
// hash of the id, and different for each quote and each id.
func TestDerivedTransferIDFitsMassPay(t *testing.T) {
	if got := derivedTransferID("INV-7", 3); got != "INV-7#3" {
		t.Errorf("short id: %q, want INV-7#3", got)
	}
	long := strings.Repeat("é", 49) + "x"
	seen := map[string]bool{}
	for _, id := range []string{long, strings.Repeat("é", 49) + "y"} {
		for seq := 3; seq <= 12; seq++ {
			d := derivedTransferID(id, seq)
			if n := len([]rune(d)); n > maxTransferID {
				t.Errorf("%q: %d characters", d, n)
			}
			if seen[d] {
				t.Errorf("%q derived twice", d)
			}
			seen[d] = true
		}
	}
}
