package sandbox

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

func TestIdempotentReplay(t *testing.T) {
	h := start(t, nil)
	u, dst := h.payee("replay@example.com")
	key := []string{"Idempotency-Key", "row-1"}
	amt := dec("10")
	body := masspay.PayoutTxn{ClientTransferID: "row-1", DestinationCurrencyCode: "USD", SourceToken: h.sourceToken("USD"), DestinationToken: dst, SourceAmount: &amt}
	b1 := h.call(200, "POST", "/"+u, body, nil, key...)
	b2 := h.call(200, "POST", "/"+u, body, nil, key...)
	if string(b1) != string(b2) {
		t.Fatalf("replay differs:\n%s\n%s", b1, b2)
	}
	var p masspay.PayoutTxnResp
	json.Unmarshal(b1, &p)
	c1 := h.call(200, "PUT", "/"+u+"/"+p.PayoutToken, nil, nil, "Idempotency-Key", "row-1#commit")
	c2 := h.call(200, "PUT", "/"+u+"/"+p.PayoutToken, nil, nil, "Idempotency-Key", "row-1#commit")
	if string(c1) != string(c2) {
		t.Fatalf("commit replay differs:\n%s\n%s", c1, c2)
	}
	if a := h.audit(); len(a.Payouts) != 1 || !h.balance("USD").Equal(dec("999988.5")) {
		t.Fatalf("replay did something twice: %+v", a)
	}
	// Loads too.
	lb := masspay.LoadTxn{ClientLoadID: "l-1", SourceToken: h.sourceToken("USD"), Amount: dec("5")}
	l1 := h.call(200, "POST", "/load/"+u, lb, nil, "Idempotency-Key", "l-1")
	l2 := h.call(200, "POST", "/load/"+u, lb, nil, "Idempotency-Key", "l-1")
	if string(l1) != string(l2) || len(h.audit().Loads) != 1 {
		t.Fatalf("load replay: %s %s", l1, l2)
	}
	// The same key under another API key scope is a different key: it would
	// be refused by auth first, so scope is checked in-process.
	if st, _ := h.do("POST", "/"+u, body, "Authorization", "Bearer other"); st != 401 {
		t.Fatalf("other key: %d", st)
	}
}

func TestIdempotencyKeyReusedWithDifferentRequest(t *testing.T) {
	h := start(t, nil)
	u, dst := h.payee("reuse@example.com")
	h.initiate(u, dst, "r-1", "10", "Idempotency-Key", "k-1")
	amt := dec("11")
	st, b := h.do("POST", "/"+u, masspay.PayoutTxn{ClientTransferID: "r-1", DestinationCurrencyCode: "USD",
		SourceToken: h.sourceToken("USD"), DestinationToken: dst, SourceAmount: &amt}, "Idempotency-Key", "k-1")
	if st != 422 || !strings.Contains(errBody(t, b).Message, "reused with a different request") {
		t.Fatalf("reused key: %d %s", st, b)
	}
	if n := len(h.audit().Payouts); n != 1 {
		t.Fatalf("reused key created a payout: %d", n)
	}
	// A refused request (400) is not remembered: fixing it under the same key works.
	st, _ = h.do("POST", "/load/"+u, masspay.LoadTxn{ClientLoadID: "x", SourceToken: "bad", Amount: dec("1")}, "Idempotency-Key", "k-2")
	if st != 400 {
		t.Fatalf("bad load: %d", st)
	}
	st, b = h.do("POST", "/load/"+u, masspay.LoadTxn{ClientLoadID: "x", SourceToken: h.sourceToken("USD"), Amount: dec("1")}, "Idempotency-Key", "k-2")
	if st != 200 {
		t.Fatalf("fixed load under the same key: %d %s", st, b)
	}
}

func TestIdempotencyRetention(t *testing.T) {
	h := start(t, func(c *Config) { c.IdempotencyRetention = time.Hour })
	u, dst := h.payee("ret@example.com")
	h.initiate(u, dst, "", "10", "Idempotency-Key", "k")
	h.advance(2 * time.Hour)
	amt := dec("12")
	h.call(200, "POST", "/"+u, masspay.PayoutTxn{DestinationCurrencyCode: "USD", SourceToken: h.sourceToken("USD"),
		DestinationToken: dst, SourceAmount: &amt}, nil, "Idempotency-Key", "k")
	if n := len(h.audit().Payouts); n != 2 {
		t.Fatalf("expired key still blocked: %d payouts", n)
	}
}

func TestIdempotencyConcurrentSameKey(t *testing.T) {
	h := start(t, nil)
	u, _ := h.payee("conc@example.com")
	lb := masspay.LoadTxn{ClientLoadID: "c-1", SourceToken: h.sourceToken("USD"), Amount: dec("5")}
	// Hold the state lock so the first request stays in flight.
	h.srv.mu.Lock()
	var wg sync.WaitGroup
	var first int
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, _, err := h.raw("POST", "/load/"+u, lb, "Idempotency-Key", "same")
		if err == nil {
			first = resp.StatusCode
		}
	}()
	for deadline := time.Now().Add(5 * time.Second); ; {
		h.srv.idem.mu.Lock()
		n := len(h.srv.idem.entries)
		h.srv.idem.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			h.srv.mu.Unlock()
			t.Fatal("first request never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	resp, b, err := h.raw("POST", "/load/"+u, lb, "Idempotency-Key", "same")
	h.srv.mu.Unlock()
	wg.Wait()
	if err != nil || resp.StatusCode != 409 || errBody(t, b).Error.Reason != "idempotency_key_in_use" {
		t.Fatalf("second in-flight request: %v %s", err, b)
	}
	if first != 200 || len(h.audit().Loads) != 1 {
		t.Fatalf("first: %d, loads %d", first, len(h.audit().Loads))
	}
}

func TestDuplicateAndNSF(t *testing.T) {
	h := start(t, func(c *Config) { c.Balances = map[string]decimal.Decimal{"USD": dec("100")} })
	u, dst := h.payee("dup@example.com")
	p := h.initiate(u, dst, "d-1", "10")
	// An uncommitted quote does not block a fresh one.
	p2 := h.initiate(u, dst, "d-1", "10")
	if p2.PayoutToken == masspay.PayoutTokenDuplicate {
		t.Fatal("uncommitted quote blocked a fresh one")
	}
	if c := h.commit(u, p.PayoutToken); c.Status != masspay.CommitSuccess {
		t.Fatalf("commit: %+v", c)
	}
	if d := h.initiate(u, dst, "d-1", "10"); d.PayoutToken != masspay.PayoutTokenDuplicate {
		t.Fatalf("want DUPLICATE, got %+v", d)
	}
	if c := h.commit(u, p2.PayoutToken); c.Status == masspay.CommitSuccess {
		t.Fatalf("second payout with a used client_transfer_id committed: %+v", c)
	}
	// 100 - 11.50 = 88.50 left.
	if n := h.initiate(u, dst, "n-1", "88"); n.PayoutToken != masspay.PayoutTokenNSF {
		t.Fatalf("want NSF, got %+v", n)
	}
	a := h.initiate(u, dst, "n-2", "50")
	b := h.initiate(u, dst, "n-3", "40")
	h.commit(u, a.PayoutToken)
	if c := h.commit(u, b.PayoutToken); c.Status != masspay.CommitNSF {
		t.Fatalf("want nsf on commit, got %+v", c)
	}
	st, body := h.do("POST", "/load/"+u, masspay.LoadTxn{ClientLoadID: "l", SourceToken: h.sourceToken("USD"), Amount: dec("500")})
	if e := errBody(t, body); st != 400 || e.Code != 400 || e.Error == nil || e.Error.Reason != "nsf" {
		t.Fatalf("load NSF: %d %s", st, body)
	}
}

func TestQuoteExpiresAfterTwoMinutes(t *testing.T) {
	h := start(t, nil)
	u, dst := h.payee("exp@example.com")
	p := h.initiate(u, dst, "e-1", "10")
	h.advance(2*time.Minute + time.Second)
	if c := h.commit(u, p.PayoutToken); c.Status != masspay.CommitExRateExpired {
		t.Fatalf("want ex_rate_expired, got %+v", c)
	}
	// Just inside the window still commits.
	p = h.initiate(u, dst, "e-2", "10")
	h.advance(2 * time.Minute)
	if c := h.commit(u, p.PayoutToken); c.Status != masspay.CommitSuccess {
		t.Fatalf("at exactly 2 minutes: %+v", c)
	}
	// Expired quotes do not block the client_transfer_id.
	if p := h.initiate(u, dst, "e-1", "10"); p.PayoutToken == masspay.PayoutTokenDuplicate {
		t.Fatal("expired quote blocked its client_transfer_id")
	}
}

func TestKYCHold(t *testing.T) {
	h := start(t, nil)
	u := h.createUser("frank@kyc-hold.example", nil)
	if u.Status != masspay.UserLocked {
		t.Fatalf("kyc user status: %s", u.Status)
	}
	st, b := h.do("POST", "/load/"+u.UserToken, masspay.LoadTxn{ClientLoadID: "k-1", SourceToken: h.sourceToken("USD"), Amount: dec("10")})
	var e masspay.ErrorBody
	json.Unmarshal(b, &e)
	if st != 403 || e.Title != "Compliance hold" || string(e.Code) != "403" || e.Error == nil || e.Error.Reason != "kyc_hold" {
		t.Fatalf("kyc load: %d %s", st, b)
	}
	link := e.Error.Details[0]
	if !strings.HasPrefix(link, "https://sandbox.masspay.example/kyc/upload/") || e.Message != "User is on a compliance hold. Documents required: "+link {
		t.Fatalf("kyc link: %q / %q", link, e.Message)
	}
	amt := dec("10")
	st, b = h.do("POST", "/"+u.UserToken, masspay.PayoutTxn{DestinationCurrencyCode: "USD", SourceToken: h.sourceToken("USD"),
		DestinationToken: h.usaBank(), SourceAmount: &amt})
	if st != 403 || !strings.Contains(string(b), link) {
		t.Fatalf("kyc payout: %d %s", st, b)
	}
	// A hold put on later, through the sandbox endpoint, with its own link.
	v, dst := h.payee("later@example.com")
	p := h.initiate(v, dst, "h-1", "10")
	var held map[string]string
	h.call(200, "POST", "/_sandbox/users/"+v+"/hold", nil, &held)
	if held["upload_link"] == link || !strings.HasPrefix(held["upload_link"], "https://") {
		t.Fatalf("hold link not unique: %v", held)
	}
	var su masspay.StoredUser
	h.call(200, "GET", "/user/"+v, nil, &su)
	if su.Status != masspay.UserLocked {
		t.Fatalf("held user: %+v", su)
	}
	st, b = h.do("PUT", "/"+v+"/"+p.PayoutToken, nil)
	if st != 403 || !strings.Contains(string(b), held["upload_link"]) {
		t.Fatalf("commit to held user: %d %s", st, b)
	}
	h.call(200, "POST", "/_sandbox/users/"+v+"/release", nil, nil)
	if c := h.commit(v, p.PayoutToken); c.Status != masspay.CommitSuccess {
		t.Fatalf("after release: %+v", c)
	}
}

func TestMagicCentsAndProgression(t *testing.T) {
	h := start(t, nil)
	u, dst := h.payee("magic@example.com")
	commit := func(amount string) (masspay.PayoutTxnResp, masspay.PayoutTxnCommitResp) {
		p := h.initiate(u, dst, "m-"+amount, amount)
		return p, h.commit(u, p.PayoutToken)
	}
	if _, c := commit("10.13"); c.Status != masspay.CommitFailure {
		t.Fatalf(".13: %+v", c)
	}
	if _, c := commit("10.14"); c.Status != masspay.CommitAddtlAttrReq {
		t.Fatalf(".14: %+v", c)
	}
	st, b := h.do("POST", "/load/"+u, masspay.LoadTxn{ClientLoadID: "lm", SourceToken: h.sourceToken("USD"), Amount: dec("3.13")})
	if e := errBody(t, b); st != 400 || e.Error == nil || e.Error.Reason != "load_refused" {
		t.Fatalf("load .13: %d %s", st, b)
	}
	ok, c := commit("10.00")
	cancel, c15 := commit("10.15")
	flip, c16 := commit("10.16")
	if c.Status != "success" || c15.Status != "success" || c16.Status != "success" {
		t.Fatalf("commits: %v %v %v", c, c15, c16)
	}
	before := h.balance("USD")
	check := func(when string, want ...string) {
		t.Helper()
		for i, p := range []masspay.PayoutTxnResp{ok, cancel, flip} {
			if got := h.status(u, p.PayoutToken).Status; got != want[i] {
				t.Fatalf("%s: payout %d status %s, want %s", when, i, got, want[i])
			}
		}
	}
	check("at commit", "PENDING", "PENDING", "PENDING")
	h.advance(time.Minute)
	check("after 1m", "PROCESSING", "PROCESSING", "PROCESSING")
	h.advance(4 * time.Minute)
	check("after 5m", "COMPLETED", "CANCELLED", "COMPLETED")
	// The cancelled payout gave its amount and fee back.
	if got := h.balance("USD"); !got.Equal(before.Add(dec("11.65"))) {
		t.Fatalf("refund of .15: %s -> %s", before, got)
	}
	h.advance(29 * time.Minute)
	check("after 34m", "COMPLETED", "CANCELLED", "COMPLETED")
	h.advance(time.Minute)
	check("after 35m", "COMPLETED", "CANCELLED", "CANCELLED")

	// Cash pickup ends READY_FOR_PICKUP with a pickup code.
	var cs masspay.CountryServices
	h.call(200, "GET", "/country/MEX/best?payer_name=Elektra", nil, &cs)
	el := cs.Routes()[0]
	amt := dec("20")
	var p masspay.PayoutTxnResp
	h.call(200, "POST", "/"+u, masspay.PayoutTxn{DestinationCurrencyCode: "MXN", SourceToken: h.sourceToken("USD"),
		DestinationToken: el.DestinationToken, SourceAmount: &amt}, &p)
	if !p.DestinationAmount.Equal(dec("367.4")) || !p.ExchangeRate.Equal(dec("18.37")) {
		t.Fatalf("MXN quote: %+v", p)
	}
	cc := h.commit(u, p.PayoutToken)
	if cc.Status != "success" || len(cc.PickupCode) != 8 {
		t.Fatalf("cash pickup commit: %+v", cc)
	}
	h.advance(10 * time.Minute) // one jump walks every step
	if s := h.status(u, p.PayoutToken); s.Status != masspay.StatusReadyForPickup || s.PickupCode != cc.PickupCode {
		t.Fatalf("cash pickup: %+v", s)
	}
}

func TestMissingAttributesAnswerAddtlAttrReq(t *testing.T) {
	h := start(t, nil)
	u := h.createUser("noattr@example.com", nil)
	p := h.initiate(u.UserToken, h.usaBank(), "a-1", "10")
	if c := h.commit(u.UserToken, p.PayoutToken); c.Status != masspay.CommitAddtlAttrReq {
		t.Fatalf("missing attributes: %+v", c)
	}
}
