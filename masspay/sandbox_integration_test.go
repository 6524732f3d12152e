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
	u, err := e.c.CreateUser(e.ctx, "user:"+id, masspay.User{Profile: masspay.Profile{InternalUserID: id, Country: "USA",
		FirstName: "Ana", LastName: "Diaz", Email: email}})
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
	again, err := e.c.CreateUser(ctx, "user:emp-1", masspay.User{Profile: masspay.Profile{InternalUserID: "emp-1", Country: "USA", FirstName: "Ana", LastName: "Diaz", Email: "ana@example.com"}})
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
	upd, err := e.c.UpdateUser(ctx, "upd:emp-1", u.UserToken, masspay.UpdateUser{Profile: masspay.Profile{City: "Austin", Address1: "1 Main St"}})
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
