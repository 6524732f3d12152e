package masspay_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
	"github.com/shopspring/decimal"
)

// These tests run the client against the real embedded sandbox over
// loopback HTTP. Nothing of the client is replaced: wireLog only watches the
// bytes go by (and, for the lost-response test, switches a sandbox fault off
// after the first loss, as an operator would).

const sbKey = "sandbox-key-integration-7f3a"

var t0 = time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)

// exchange is one attempt as it crossed the wire.
type exchange struct {
	Method, Path, Key string
	Body              []byte
	Status            int // 0 when no answer came back
	Err               error
}

// wireLog is an http.RoundTripper that records every attempt and can react
// to one (after).
type wireLog struct {
	next  http.RoundTripper
	mu    sync.Mutex
	log   []exchange
	after func(e exchange)
}

func (w *wireLog) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.GetBody != nil {
		rc, err := r.GetBody()
		if err == nil {
			body, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	resp, err := w.next.RoundTrip(r)
	e := exchange{Method: r.Method, Path: r.URL.Path, Key: r.Header.Get("Idempotency-Key"), Body: body, Err: err}
	if resp != nil {
		e.Status = resp.StatusCode
	}
	w.mu.Lock()
	w.log = append(w.log, e)
	hook := w.after
	w.mu.Unlock()
	if hook != nil {
		hook(e)
	}
	return resp, err
}

func (w *wireLog) exchanges() []exchange {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]exchange(nil), w.log...)
}

func (w *wireLog) setAfter(f func(exchange)) {
	w.mu.Lock()
	w.after = f
	w.mu.Unlock()
}

// matching returns the exchanges for method and a path ending in suffix.
func (w *wireLog) matching(method, suffix string) []exchange {
	var out []exchange
	for _, e := range w.exchanges() {
		if e.Method == method && strings.HasSuffix(e.Path, suffix) {
			out = append(out, e)
		}
	}
	return out
}

type env struct {
	srv  *sandbox.Server
	c    *masspay.Client
	wire *wireLog
	ctx  context.Context
}

func startSandbox(t *testing.T, mod func(*sandbox.Config), cmod func(*masspay.Config)) *env {
	t.Helper()
	cfg := sandbox.Config{APIKey: sbKey, Clock: sandbox.NewManualClock(t0), Seed: 1}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatalf("sandbox.Start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	wire := &wireLog{next: tr}
	ccfg := masspay.Config{BaseURL: srv.URL(), APIKey: sbKey, HTTPClient: &http.Client{Transport: wire},
		MaxRetries: 5, Timeout: 10 * time.Second, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond}
	if cmod != nil {
		cmod(&ccfg)
	}
	c, err := masspay.New(ccfg)
	if err != nil {
		t.Fatalf("masspay.New: %v", err)
	}
	return &env{srv: srv, c: c, wire: wire, ctx: context.Background()}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func ptr[T any](v T) *T { return &v }

// sourceToken returns the account's source_token for currency.
func (e *env) sourceToken(t *testing.T, currency string) string {
	t.Helper()
	bs, err := e.c.Balances(e.ctx)
	if err != nil {
		t.Fatalf("Balances: %v", err)
	}
	for _, b := range bs {
		if b.CurrencyCode == currency {
			return b.Token
		}
	}
	t.Fatalf("no %s balance in %+v", currency, bs)
	return ""
}

func (e *env) user(t *testing.T, id, email string) *masspay.StoredUser {
	t.Helper()
	u, err := e.c.CreateUser(e.ctx, "user:"+id, masspay.User{InternalUserID: id, Country: "USA",
		FirstName: "Ana", LastName: "Diaz", Email: email})
	if err != nil {
		t.Fatalf("CreateUser %s: %v", id, err)
	}
	return u
}

// usBankRoute returns the generic USA bank deposit route and an attribute
// set filled with valid values for user.
func (e *env) usBankRoute(t *testing.T, userToken string) (dst, attrSet string) {
	t.Helper()
	cs, err := e.c.BestRoutes(e.ctx, "USA", masspay.RouteParams{Amount: ptr(dec("100")), OnlyGenericPayers: true, DestinationCurrency: "USD"})
	if err != nil {
		t.Fatalf("BestRoutes: %v", err)
	}
	for _, r := range cs.Routes() {
		if r.DeliveryType == masspay.DeliveryBankDeposit {
			dst = r.DestinationToken
		}
	}
	if dst == "" {
		t.Fatalf("no USA bank deposit route in %+v", cs.Routes())
	}
	attrs, err := e.c.Attributes(e.ctx, userToken, dst, "USD")
	if err != nil {
		t.Fatalf("Attributes: %v", err)
	}
	vals := map[string]string{"BankAccountNumber": "123456789", "BankRoutingNumber": "021000021"}
	var txn masspay.AttrTxn
	for _, a := range attrs {
		v, ok := vals[a.Type]
		if !ok {
			t.Fatalf("unexpected attribute %+v", a)
		}
		txn.Values = append(txn.Values, masspay.AttrValue{Token: a.Token, Value: v})
	}
	if len(txn.Values) != 2 {
		t.Fatalf("attributes = %+v, want account and routing number", attrs)
	}
	set, err := e.c.StoreAttributes(e.ctx, "attrs:"+userToken, userToken, dst, "USD", txn)
	if err != nil || set.AttrSetToken == "" {
		t.Fatalf("StoreAttributes = %+v, %v", set, err)
	}
	return dst, set.AttrSetToken
}

func (e *env) payout(ctid, src, dst, set, amount string) masspay.PayoutTxn {
	return masspay.PayoutTxn{ClientTransferID: ctid, SourceCurrencyCode: "USD", DestinationCurrencyCode: "USD",
		SourceToken: src, DestinationToken: dst, AttrSetToken: set, SourceAmount: ptr(dec(amount))}
}

// committedFor counts the committed payouts of ctid in the sandbox's audit.
func (e *env) committedFor(ctid string) (all, committed int) {
	for _, p := range e.srv.Audit().Payouts {
		if p.ClientTransferID == ctid {
			all++
			if p.Committed {
				committed++
			}
		}
	}
	return all, committed
}

// TestSandboxEveryMethod walks one payee through every client method.
func TestSandboxEveryMethod(t *testing.T) {
	e := startSandbox(t, nil, nil)
	ctx := e.ctx
	usd := e.sourceToken(t, "USD")

	countries, err := e.c.Countries(ctx)
	if err != nil || !slices.ContainsFunc(countries, func(c masspay.Country) bool { return c.ThreeLetterCode == "USA" }) {
		t.Fatalf("Countries = %+v, %v", countries, err)
	}

	u := e.user(t, "emp-1", "ana@example.com")
	if u.Status != masspay.UserActive || !strings.HasPrefix(u.UserToken, "usr_") {
		t.Fatalf("CreateUser = %+v", u)
	}
	again, err := e.c.CreateUser(ctx, "user:emp-1", masspay.User{InternalUserID: "emp-1", Country: "USA", FirstName: "Ana", LastName: "Diaz", Email: "ana@example.com"})
	if err != nil || again.UserToken != u.UserToken {
		t.Fatalf("replayed CreateUser = %+v, %v; want the same user", again, err)
	}
	for _, p := range []masspay.LookupUserParams{{InternalUserID: "emp-1"}, {Email: "ana@example.com", FirstName: "Ana"}} {
		f, err := e.c.LookupUser(ctx, p)
		if err != nil || f.UserToken != u.UserToken {
			t.Fatalf("LookupUser(%+v) = %+v, %v", p, f, err)
		}
	}
	if _, err := e.c.LookupUser(ctx, masspay.LookupUserParams{InternalUserID: "nobody"}); !errors.Is(err, masspay.ErrNotFound) {
		t.Fatalf("LookupUser(nobody) = %v, want ErrNotFound", err)
	}
	got, err := e.c.GetUser(ctx, u.UserToken)
	if err != nil || got.Email != "ana@example.com" {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	upd, err := e.c.UpdateUser(ctx, "upd:emp-1", u.UserToken, masspay.UpdateUser{City: "Austin", Address1: "1 Main St"})
	if err != nil || upd.City != "Austin" {
		t.Fatalf("UpdateUser = %+v, %v", upd, err)
	}

	// Loads: 0.1 + 0.2 must be 0.3 exactly in the wallet.
	for _, a := range []string{"0.1", "0.2"} {
		l, err := e.c.Load(ctx, "load-"+a, u.UserToken, masspay.LoadTxn{ClientLoadID: "load-" + a, SourceToken: usd, Amount: dec(a)})
		if err != nil || l.Status != masspay.LoadCompleted {
			t.Fatalf("Load %s = %+v, %v", a, l, err)
		}
	}
	wallets, err := e.c.Wallets(ctx, u.UserToken)
	if err != nil || len(wallets) != 1 || wallets[0].Balance.String() != "0.3" {
		t.Fatalf("Wallets = %+v, %v; want one USD wallet holding exactly 0.3", wallets, err)
	}
	wallet := wallets[0].Token
	loads, err := e.c.Loads(ctx, u.UserToken)
	if err != nil || len(loads) != 2 || !loads[0].Amount.Equal(dec("0.1")) || !loads[1].Amount.Equal(dec("0.2")) {
		t.Fatalf("Loads = %+v, %v", loads, err)
	}
	rev, err := e.c.ReverseLoad(ctx, "rev-"+loads[1].LoadToken, u.UserToken, loads[1].LoadToken)
	if err != nil || rev.Status != masspay.LoadCancelled {
		t.Fatalf("ReverseLoad = %+v, %v", rev, err)
	}
	if ws, _ := e.c.Wallets(ctx, u.UserToken); ws[0].Balance.String() != "0.1" {
		t.Fatalf("wallet after reversal = %s, want 0.1", ws[0].Balance)
	}

	// Routes.
	dst, set := e.usBankRoute(t, u.UserToken)
	for name, call := range map[string]func(context.Context, string, masspay.RouteParams) (*masspay.CountryServices, error){
		"CheapestRoutes": e.c.CheapestRoutes, "CountryRoutes": e.c.CountryRoutes,
	} {
		cs, err := call(ctx, "USA", masspay.RouteParams{})
		if err != nil || !slices.ContainsFunc(cs.Routes(), func(r masspay.Route) bool { return r.DestinationToken == dst }) {
			t.Fatalf("%s = %+v, %v; want the bank deposit route", name, cs, err)
		}
	}
	svc, err := e.c.Service(ctx, dst)
	if err != nil || svc.CountryCode != "USA" || len(svc.Payers) == 0 || svc.Payers[0].DestinationToken != dst {
		t.Fatalf("Service = %+v, %v", svc, err)
	}
	if !svc.Payers[0].Fee.Equal(dec("1.50")) {
		t.Errorf("bank deposit fee = %s, want 1.50", svc.Payers[0].Fee)
	}

	// Autopay rules.
	rule, err := e.c.AddAutopayRule(ctx, "apr:"+wallet, u.UserToken, wallet, masspay.AutopayRuleTxn{DestinationToken: dst, Percentage: dec("12.5"), AttrSetToken: set})
	if err != nil || !strings.HasPrefix(rule.Token, "apr_") || !rule.Percentage.Equal(dec("12.5")) {
		t.Fatalf("AddAutopayRule = %+v, %v", rule, err)
	}
	rules, err := e.c.AutopayRules(ctx, u.UserToken, wallet)
	if err != nil || len(rules) != 1 || rules[0].Token != rule.Token {
		t.Fatalf("AutopayRules = %+v, %v", rules, err)
	}
	if err := e.c.DeleteAutopayRule(ctx, "", u.UserToken, wallet, rule.Token); err != nil {
		t.Fatalf("DeleteAutopayRule: %v", err)
	}
	if rules, _ := e.c.AutopayRules(ctx, u.UserToken, wallet); len(rules) != 0 {
		t.Fatalf("rules after delete = %+v", rules)
	}

	// Payout: initiate, commit, status over the sandbox clock, list, PDF.
	q, err := e.c.InitiatePayout(ctx, "row-1", u.UserToken, e.payout("row-1", usd, dst, set, "100.00"))
	if err != nil || !strings.HasPrefix(q.PayoutToken, "payout_") || !q.Fee.Equal(dec("1.5")) {
		t.Fatalf("InitiatePayout = %+v, %v", q, err)
	}
	cm, err := e.c.CommitPayout(ctx, "row-1#commit", u.UserToken, q.PayoutToken)
	if err != nil || cm.Status != masspay.CommitSuccess {
		t.Fatalf("CommitPayout = %+v, %v", cm, err)
	}
	st, err := e.c.PayoutStatus(ctx, u.UserToken, q.PayoutToken, false)
	if err != nil || st.Status != masspay.StatusPending || st.ClientTransferID != "row-1" {
		t.Fatalf("PayoutStatus = %+v, %v", st, err)
	}
	e.srv.Advance(6 * time.Minute)
	st, err = e.c.PayoutStatus(ctx, u.UserToken, q.PayoutToken, true)
	if err != nil || st.Status != masspay.StatusCompleted {
		t.Fatalf("PayoutStatus after 6m = %+v, %v", st, err)
	}
	ps, err := e.c.Payouts(ctx, u.UserToken)
	if err != nil || len(ps) != 1 || ps[0].PayoutToken != q.PayoutToken {
		t.Fatalf("Payouts = %+v, %v", ps, err)
	}
	pdf, err := e.c.PayoutPDF(ctx, u.UserToken, q.PayoutToken)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("PayoutPDF = %.20q, %v", pdf, err)
	}

	// Reports.
	hist, err := e.c.UserHistory(ctx, u.UserToken, masspay.HistoryParams{})
	if err != nil || !slices.ContainsFunc(hist, func(h masspay.TxnHistory) bool { return h.ClientTransferID == "row-1" }) {
		t.Fatalf("UserHistory = %+v, %v", hist, err)
	}
	all, err := e.c.AllUsersHistory(ctx, masspay.HistoryParams{Type: "payout"})
	if err != nil || len(all) == 0 {
		t.Fatalf("AllUsersHistory = %+v, %v", all, err)
	}
	for _, h := range all {
		if !strings.EqualFold(h.Type, "payout") {
			t.Errorf("AllUsersHistory(type=payout) returned %+v", h)
		}
	}
	stmt, err := e.c.Statement(ctx, t0.AddDate(0, 0, -1), t0)
	if err != nil || !bytes.HasPrefix(stmt, []byte("%PDF-")) || !bytes.Contains(stmt, []byte("payout")) {
		t.Fatalf("Statement = %q, %v", stmt, err)
	}
	tax, err := e.c.TaxBalances(ctx, ptr(dec("50")), t0.Year())
	if err != nil || len(tax) != 1 || tax[0].UserToken != u.UserToken || !tax[0].Balance.Equal(dec("100.1")) {
		t.Fatalf("TaxBalances = %+v, %v; want this user with 0.1 loaded + 100 paid", tax, err)
	}
	if tax, err := e.c.TaxBalances(ctx, nil, 0); err != nil || len(tax) != 0 {
		t.Fatalf("TaxBalances(last year) = %+v, %v; want none", tax, err)
	}
}

// TestSandboxRetriesAfterFaults lets the sandbox fail half the requests with
// 500/502/504 and rate-limit others with 429, and checks that every retry
// re-sent the same key and body and that nothing was paid twice.
func TestSandboxRetriesAfterFaults(t *testing.T) {
	e := startSandbox(t, nil, func(c *masspay.Config) { c.MaxRetries = 20 })
	usd := e.sourceToken(t, "USD")
	u := e.user(t, "emp-2", "bo@example.com")
	dst, set := e.usBankRoute(t, u.UserToken)

	e.srv.SetFaults(sandbox.Faults{ErrorRate: 0.5})
	seen := map[int]bool{}
	for i := 0; i < 12 && !(seen[500] && seen[504]); i++ {
		ctid := "fault-" + string(rune('a'+i))
		q, err := e.c.InitiatePayout(e.ctx, ctid, u.UserToken, e.payout(ctid, usd, dst, set, "10.00"))
		if err != nil {
			t.Fatalf("InitiatePayout %s: %v", ctid, err)
		}
		if _, err := e.c.CommitPayout(e.ctx, ctid+"#commit", u.UserToken, q.PayoutToken); err != nil {
			t.Fatalf("CommitPayout %s: %v", ctid, err)
		}
		for _, suffix := range []string{"/payout/" + u.UserToken, "/payout/" + u.UserToken + "/" + q.PayoutToken} {
			var attempts []exchange
			for _, x := range e.wire.exchanges() {
				if strings.HasSuffix(x.Path, suffix) && x.Method != http.MethodGet && strings.HasPrefix(x.Key, ctid) {
					attempts = append(attempts, x)
				}
			}
			for j, x := range attempts {
				if x.Key != attempts[0].Key || !bytes.Equal(x.Body, attempts[0].Body) {
					t.Errorf("%s attempt %d re-sent key %q body %s; first was %q %s", ctid, j+1, x.Key, x.Body, attempts[0].Key, attempts[0].Body)
				}
				if j < len(attempts)-1 {
					seen[x.Status] = true
				}
			}
			if last := attempts[len(attempts)-1]; last.Status != 200 {
				t.Errorf("%s last attempt = %d", ctid, last.Status)
			}
		}
		if all, committed := e.committedFor(ctid); all != 1 || committed != 1 {
			t.Errorf("%s: %d payouts, %d committed; want exactly one", ctid, all, committed)
		}
	}
	if !seen[500] || !seen[504] {
		t.Fatalf("retried statuses seen = %v; want 500 and 504", seen)
	}

	// 429: one request per second; of two loads sent at once (before any
	// answer announced the limit, which the client would follow) one
	// bounces and is retried after the sandbox's Retry-After.
	e.srv.SetFaults(sandbox.Faults{RateLimit: 1})
	var wg sync.WaitGroup
	for _, id := range []string{"rl-1", "rl-2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.c.Load(e.ctx, id, u.UserToken, masspay.LoadTxn{ClientLoadID: id, SourceToken: usd, Amount: dec("5")}); err != nil {
				t.Errorf("Load %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
	rl := e.wire.matching(http.MethodPost, "/load/"+u.UserToken)
	var bounced bool
	for i, x := range rl {
		if x.Status == http.StatusTooManyRequests {
			bounced = true
			retried := false
			for _, y := range rl[i+1:] {
				if y.Key == x.Key {
					retried = bytes.Equal(y.Body, x.Body) && y.Status == 200
					break
				}
			}
			if !retried {
				t.Errorf("429 on %q not followed by the same request succeeding: %+v", x.Key, rl)
			}
		}
	}
	if !bounced {
		t.Fatalf("no 429 seen: %+v", rl)
	}
	var loads int
	for _, l := range e.srv.Audit().Loads {
		if strings.HasPrefix(l.ClientLoadID, "rl-") {
			loads++
		}
	}
	if loads != 2 {
		t.Fatalf("audit holds %d rl- loads, want 2", loads)
	}
}

// TestSandboxLostCommitResponse drops the connection after the sandbox
// committed the payout; the client re-sends the same key and gets the
// recorded answer, and the audit shows one committed payout, paid once.
func TestSandboxLostCommitResponse(t *testing.T) {
	e := startSandbox(t, nil, nil)
	usd := e.sourceToken(t, "USD")
	u := e.user(t, "emp-3", "cy@example.com")
	dst, set := e.usBankRoute(t, u.UserToken)
	before := balanceOf(e.srv.Audit(), "USD")

	// Lose the answer of the initiate too: a re-sent quote must not make a
	// second payout.
	e.srv.SetFaults(sandbox.Faults{LostResponseRate: 1})
	e.wire.setAfter(func(x exchange) {
		if x.Err != nil {
			e.srv.SetFaults(sandbox.Faults{})
		}
	})
	q, err := e.c.InitiatePayout(e.ctx, "lost-1", u.UserToken, e.payout("lost-1", usd, dst, set, "250.00"))
	if err != nil {
		t.Fatalf("InitiatePayout: %v", err)
	}
	e.srv.SetFaults(sandbox.Faults{LostResponseRate: 1})
	cm, err := e.c.CommitPayout(e.ctx, "lost-1#commit", u.UserToken, q.PayoutToken)
	if err != nil || cm.Status != masspay.CommitSuccess {
		t.Fatalf("CommitPayout = %+v, %v", cm, err)
	}
	puts := e.wire.matching(http.MethodPut, "/"+q.PayoutToken)
	if len(puts) != 2 || puts[0].Err == nil || puts[1].Status != 200 || puts[0].Key != puts[1].Key {
		t.Fatalf("commit attempts = %+v; want a lost one, then the same key answered", puts)
	}
	if all, committed := e.committedFor("lost-1"); all != 1 || committed != 1 {
		t.Fatalf("audit: %d payouts, %d committed for lost-1; want exactly one", all, committed)
	}
	after := balanceOf(e.srv.Audit(), "USD")
	if want := before.Sub(dec("251.50")); !after.Equal(want) {
		t.Fatalf("USD balance %s -> %s; want one debit of 251.50 (%s)", before, after, want)
	}
}

func balanceOf(a sandbox.Audit, cur string) decimal.Decimal {
	for _, b := range a.Balances {
		if b.CurrencyCode == cur {
			return b.Balance
		}
	}
	return decimal.Zero
}

// TestSandboxLostResponseWithoutKey: a POST without a key is not re-sent
// after its bytes reached the server; the caller learns the outcome is
// unknown and finds the user by lookup.
func TestSandboxLostResponseWithoutKey(t *testing.T) {
	e := startSandbox(t, nil, nil)
	e.srv.SetFaults(sandbox.Faults{LostResponseRate: 1})
	_, err := e.c.CreateUser(e.ctx, "", masspay.User{InternalUserID: "emp-4", Country: "USA", FirstName: "Di", LastName: "Eve", Email: "di@example.com"})
	if !masspay.IsUnknownOutcome(err) || !masspay.IsRetryable(err) {
		t.Fatalf("err = %v; want a retryable unknown outcome", err)
	}
	if n := len(e.wire.matching(http.MethodPost, "/user")); n != 1 {
		t.Fatalf("POST /user sent %d times without a key, want 1", n)
	}
	e.srv.SetFaults(sandbox.Faults{})
	f, err := e.c.LookupUser(e.ctx, masspay.LookupUserParams{InternalUserID: "emp-4"})
	if err != nil || f.Email != "di@example.com" {
		t.Fatalf("LookupUser = %+v, %v: the lost create did happen", f, err)
	}
}

func TestSandboxUnauthorized(t *testing.T) {
	e := startSandbox(t, nil, func(c *masspay.Config) { c.APIKey = "wrong-key-0123456789" })
	_, err := e.c.Balances(e.ctx)
	if !errors.Is(err, masspay.ErrUnauthorized) || masspay.IsRetryable(err) || masspay.IsUnknownOutcome(err) {
		t.Fatalf("err = %v; want a definite ErrUnauthorized", err)
	}
	if n := len(e.wire.exchanges()); n != 1 {
		t.Fatalf("401 sent %d times, want 1", n)
	}
	if s := err.Error(); strings.Contains(s, "wrong-key-0123456789") || strings.Contains(s, sbKey) {
		t.Fatalf("error carries a key: %s", s)
	}
}

func TestSandboxKYCHold(t *testing.T) {
	e := startSandbox(t, nil, nil)
	usd := e.sourceToken(t, "USD")
	held := e.user(t, "emp-5", "fay@kyc-hold.example")
	if held.Status != masspay.UserLocked {
		t.Fatalf("status = %s, want LOCKED", held.Status)
	}
	_, err := e.c.Load(e.ctx, "kyc-load", held.UserToken, masspay.LoadTxn{ClientLoadID: "kyc-load", SourceToken: usd, Amount: dec("10")})
	link := masspay.KYCUploadURL(err)
	if !errors.Is(err, masspay.ErrKYCHold) || !strings.HasPrefix(link, "https://sandbox.masspay.example/kyc/upload/") {
		t.Fatalf("Load to held user = %v (link %q)", err, link)
	}
	if masspay.IsRetryable(err) || len(e.wire.matching(http.MethodPost, "/load/"+held.UserToken)) != 1 {
		t.Fatalf("a hold must not be retried")
	}

	// A user put on hold later gets its own link, returned on payouts too.
	ok := e.user(t, "emp-6", "gus@example.com")
	dst, set := e.usBankRoute(t, ok.UserToken)
	want, err := e.srv.HoldUser(ok.UserToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.InitiatePayout(e.ctx, "kyc-pay", ok.UserToken, e.payout("kyc-pay", usd, dst, set, "20"))
	if !errors.Is(err, masspay.ErrKYCHold) || masspay.KYCUploadURL(err) != want || want == link {
		t.Fatalf("payout to held user = %v, link %q; want %q", err, masspay.KYCUploadURL(err), want)
	}
}

// TestSandboxDecimals loads amounts whose digits float64 would change and
// reads them back from the sandbox.
func TestSandboxDecimals(t *testing.T) {
	e := startSandbox(t, func(c *sandbox.Config) {
		c.Balances = map[string]decimal.Decimal{"USD": dec("20000000"), "BTC": dec("10")}
	}, nil)
	usd, btc := e.sourceToken(t, "USD"), e.sourceToken(t, "BTC")
	u := e.user(t, "emp-7", "hal@example.com")
	for _, l := range []struct{ id, src, amt string }{
		{"big", usd, "12345678.90"}, {"sat", btc, "0.00000001"}, {"tenth", usd, "0.1"}, {"fifth", usd, "0.2"},
	} {
		txn := masspay.LoadTxn{ClientLoadID: l.id, SourceToken: l.src, Amount: dec(l.amt)}
		if _, err := e.c.Load(e.ctx, l.id, u.UserToken, txn); err != nil {
			t.Fatalf("Load %s: %v", l.amt, err)
		}
	}
	loads, err := e.c.Loads(e.ctx, u.UserToken)
	if err != nil || len(loads) != 4 {
		t.Fatalf("Loads = %+v, %v", loads, err)
	}
	for i, want := range []string{"12345678.90", "0.00000001", "0.1", "0.2"} {
		if !loads[i].Amount.Equal(dec(want)) {
			t.Errorf("load %d = %s, want %s", i, loads[i].Amount, want)
		}
	}
	ws, err := e.c.Wallets(e.ctx, u.UserToken)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range ws {
		got[w.CurrencyCode] = w.Balance.String()
	}
	if got["USD"] != "12345679.2" || got["BTC"] != "0.00000001" {
		t.Fatalf("wallet balances = %v; want USD 12345679.2 (12345678.90+0.1+0.2) and BTC 0.00000001", got)
	}
	a := e.srv.Audit()
	if b := balanceOf(a, "BTC"); b.String() != "9.99999999" {
		t.Errorf("BTC balance = %s, want 9.99999999", b)
	}
	if b := balanceOf(a, "USD"); b.String() != "7654320.8" {
		t.Errorf("USD balance = %s, want 7654320.8", b)
	}
}

// TestSandboxRefusals covers the refusals MassPay sends inside a 200 and the
// typed errors of loads.
func TestSandboxRefusals(t *testing.T) {
	e := startSandbox(t, nil, nil)
	usd := e.sourceToken(t, "USD")
	u := e.user(t, "emp-8", "ivy@example.com")
	dst, set := e.usBankRoute(t, u.UserToken)
	ctx := e.ctx

	commit := func(ctid, amount string) (*masspay.PayoutTxnCommitResp, error) {
		t.Helper()
		q, err := e.c.InitiatePayout(ctx, ctid, u.UserToken, e.payout(ctid, usd, dst, set, amount))
		if err != nil {
			t.Fatalf("InitiatePayout %s: %v", ctid, err)
		}
		return e.c.CommitPayout(ctx, ctid+"#commit", u.UserToken, q.PayoutToken)
	}
	for _, tc := range []struct {
		amount, status string
		kind           error
	}{
		{"30.13", masspay.CommitFailure, masspay.ErrCommitFailed},
		{"30.14", masspay.CommitAddtlAttrReq, masspay.ErrAdditionalAttributes},
	} {
		cm, err := commit("magic-"+tc.amount, tc.amount)
		if !errors.Is(err, tc.kind) || cm == nil || cm.Status != tc.status {
			t.Errorf("commit %s = %+v, %v; want %s", tc.amount, cm, err, tc.status)
		}
	}

	// Quote expiry on the sandbox clock.
	q, err := e.c.InitiatePayout(ctx, "late", u.UserToken, e.payout("late", usd, dst, set, "40"))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Advance(3 * time.Minute)
	cm, err := e.c.CommitPayout(ctx, "late#commit", u.UserToken, q.PayoutToken)
	if !errors.Is(err, masspay.ErrQuoteExpired) || cm == nil || cm.Status != masspay.CommitExRateExpired {
		t.Fatalf("late commit = %+v, %v", cm, err)
	}

	// DUPLICATE: a committed ctid asked again under a fresh key.
	if _, err := commit("dup", "41"); err != nil {
		t.Fatalf("commit dup: %v", err)
	}
	r, err := e.c.InitiatePayout(ctx, "dup#2", u.UserToken, e.payout("dup", usd, dst, set, "41"))
	if !errors.Is(err, masspay.ErrDuplicate) || r == nil || r.PayoutToken != masspay.PayoutTokenDuplicate {
		t.Fatalf("duplicate initiate = %+v, %v", r, err)
	}

	// The same key for a different request is a key-derivation bug, not a
	// duplicate payment.
	_, err = e.c.InitiatePayout(ctx, "dup#2", u.UserToken, e.payout("dup-other", usd, dst, set, "41"))
	if !errors.Is(err, masspay.ErrIdempotencyKeyReused) || errors.Is(err, masspay.ErrDuplicate) {
		t.Errorf("reused key = %v", err)
	}

	// Loads: duplicate client_load_id (409), refused (.13), NSF.
	if _, err := e.c.Load(ctx, "l-1", u.UserToken, masspay.LoadTxn{ClientLoadID: "l-1", SourceToken: usd, Amount: dec("1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.Load(ctx, "l-1-other-key", u.UserToken, masspay.LoadTxn{ClientLoadID: "l-1", SourceToken: usd, Amount: dec("1")})
	if !errors.Is(err, masspay.ErrDuplicate) {
		t.Errorf("duplicate load = %v", err)
	}
	_, err = e.c.Load(ctx, "l-13", u.UserToken, masspay.LoadTxn{ClientLoadID: "l-13", SourceToken: usd, Amount: dec("2.13")})
	var ae *masspay.APIError
	if !errors.As(err, &ae) || ae.Reason != "load_refused" || masspay.IsRetryable(err) {
		t.Errorf(".13 load = %v", err)
	}

	// NSF: drain the account, then ask.
	e.srv.AdjustBalance("USD", balanceOf(e.srv.Audit(), "USD").Sub(dec("5")).Neg())
	r, err = e.c.InitiatePayout(ctx, "poor", u.UserToken, e.payout("poor", usd, dst, set, "10"))
	if !errors.Is(err, masspay.ErrInsufficientFunds) || r == nil || r.PayoutToken != masspay.PayoutTokenNSF {
		t.Errorf("NSF initiate = %+v, %v", r, err)
	}
	_, err = e.c.Load(ctx, "l-nsf", u.UserToken, masspay.LoadTxn{ClientLoadID: "l-nsf", SourceToken: usd, Amount: dec("6")})
	if !errors.Is(err, masspay.ErrInsufficientFunds) {
		t.Errorf("NSF load = %v", err)
	}
}

// TestSandboxDeadlineStopsRetrying: with every request failing, the
// context's deadline, not the retry budget, ends the call.
func TestSandboxDeadlineStopsRetrying(t *testing.T) {
	e := startSandbox(t, nil, func(c *masspay.Config) {
		c.MaxRetries = 1000
		c.MinRetryBackoff, c.MaxRetryBackoff = 5*time.Millisecond, 20*time.Millisecond
	})
	e.srv.SetFaults(sandbox.Faults{ErrorRate: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := e.c.Balances(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if errors.Is(err, masspay.ErrRetriesExhausted) {
		t.Fatalf("the deadline, not the budget, should have stopped: %v", err)
	}
	if !masspay.IsRetryable(err) || !masspay.IsUnknownOutcome(err) {
		t.Fatalf("err = %v: after 5xx answers the outcome is unknown and worth retrying", err)
	}
	if n := len(e.wire.exchanges()); n < 2 || n > 1000 {
		t.Fatalf("%d attempts", n)
	}
}

// TestSandboxConcurrentLoadsUnderFaults runs loads from many goroutines
// through one client (rate-limited, with faults and lost answers) and checks
// that each client_load_id was loaded exactly once.
func TestSandboxConcurrentLoadsUnderFaults(t *testing.T) {
	e := startSandbox(t, nil, func(c *masspay.Config) { c.MaxRetries = 30; c.RateLimit, c.RateBurst = 500, 10 })
	usd := e.sourceToken(t, "USD")
	u := e.user(t, "emp-9", "jo@example.com")
	e.srv.SetFaults(sandbox.Faults{ErrorRate: 0.2, LostResponseRate: 0.2})
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "conc-" + strings.Repeat("i", i+1)
			_, err := e.c.Load(e.ctx, id, u.UserToken, masspay.LoadTxn{ClientLoadID: id, SourceToken: usd, Amount: dec("1.01")})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Load: %v", err)
		}
	}
	e.srv.SetFaults(sandbox.Faults{})
	count := map[string]int{}
	for _, l := range e.srv.Audit().Loads {
		count[l.ClientLoadID]++
	}
	if len(count) != n {
		t.Fatalf("audit holds %d distinct loads, want %d", len(count), n)
	}
	for id, c := range count {
		if c != 1 {
			t.Errorf("%s loaded %d times", id, c)
		}
	}
	ws, err := e.c.Wallets(e.ctx, u.UserToken)
	if err != nil || len(ws) != 1 || !ws[0].Balance.Equal(dec("24.24")) {
		t.Fatalf("wallet = %+v, %v; want 24.24", ws, err)
	}
}
