package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

const testKey = "test-key"

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// harness is a running sandbox with a manual clock and a plain net/http client.
type harness struct {
	t     *testing.T
	srv   *Server
	clock *ManualClock
	hc    *http.Client
}

func start(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	clock := NewManualClock(t0)
	cfg := Config{APIKey: testKey, Clock: clock, Seed: 7}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &harness{t: t, srv: srv, clock: clock, hc: &http.Client{Timeout: 10 * time.Second}}
}

// raw sends a request; path is relative to the API base unless it starts
// with /_sandbox or /v1. hdr is name, value pairs; "Authorization" defaults
// to the Bearer key.
func (h *harness) raw(method, path string, body any, hdr ...string) (*http.Response, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	url := h.srv.URL() + path
	if strings.HasPrefix(path, "/_sandbox") || strings.HasPrefix(path, "/v1") || strings.HasPrefix(path, "/x") {
		url = "http://" + h.srv.Addr() + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// do sends a request and checks the answer is JSON.
func (h *harness) do(method, path string, body any, hdr ...string) (int, []byte) {
	h.t.Helper()
	resp, b, err := h.raw(method, path, body, hdr...)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		h.t.Fatalf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, b
}

// call sends a request, wants status want, and decodes the answer into out.
func (h *harness) call(want int, method, path string, body, out any, hdr ...string) []byte {
	h.t.Helper()
	st, b := h.do(method, path, body, hdr...)
	if st != want {
		h.t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return b
}

// errBody decodes an error answer.
func errBody(t *testing.T, b []byte) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("decode error body %s: %v", b, err)
	}
	return e
}

func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.call(200, "POST", "/_sandbox/clock/advance?by="+d.String(), nil, nil)
}

func (h *harness) audit() Audit {
	h.t.Helper()
	var a Audit
	h.call(200, "GET", "/_sandbox/audit", nil, &a)
	return a
}

func (h *harness) sourceToken(cur string) string {
	h.t.Helper()
	var bals []masspay.AvailableBalance
	h.call(200, "GET", "/account/balance", nil, &bals)
	for _, b := range bals {
		if b.CurrencyCode == cur {
			return b.Token
		}
	}
	h.t.Fatalf("no %s balance", cur)
	return ""
}

func (h *harness) balance(cur string) decimal.Decimal {
	h.t.Helper()
	for _, b := range h.audit().Balances {
		if b.CurrencyCode == cur {
			return b.Balance
		}
	}
	return decimal.Zero
}

var userSeq int

func (h *harness) createUser(email string, mod func(*masspay.User)) masspay.StoredUser {
	h.t.Helper()
	userSeq++
	u := masspay.User{Profile: masspay.Profile{InternalUserID: "int-" + email, Country: "USA", FirstName: "Ada", LastName: "Lovelace", Email: email,
		Address1: "1 Main St", City: "Springfield"}}
	if mod != nil {
		mod(&u)
	}
	var out masspay.StoredUser
	h.call(200, "POST", "/user", u, &out)
	return out
}

// usaBank returns the USA Bank Deposit route token.
func (h *harness) usaBank() string {
	h.t.Helper()
	var cs masspay.CountryServices
	h.call(200, "GET", "/country/USA/best?only_generic_payers=true&destination_currency=USD&amount=200&include_payer_logos=false", nil, &cs)
	r := cs.Routes()
	if len(r) == 0 || r[0].PayerName != "Bank Deposit" {
		h.t.Fatalf("USA best route: %+v", r)
	}
	return r[0].DestinationToken
}

// payee creates a user with stored USA bank attributes and returns its token
// and the route token.
func (h *harness) payee(email string) (string, string) {
	h.t.Helper()
	u := h.createUser(email, nil)
	dst := h.usaBank()
	var reqs []masspay.AttrsRequirement
	h.call(200, "GET", "/attribute/"+u.UserToken+"/"+dst+"/USD", nil, &reqs)
	vals := masspay.AttrTxn{}
	for _, r := range reqs {
		v := "123456789"
		if r.Type == "BankAccountNumber" {
			v = "000123456789"
		}
		vals.Values = append(vals.Values, masspay.AttrValue{Token: r.Token, Value: v})
	}
	h.call(200, "POST", "/attribute/"+u.UserToken+"/"+dst+"/USD", vals, nil)
	return u.UserToken, dst
}

// initiate starts a USD payout of amount to a USA bank route.
func (h *harness) initiate(user, dst, ctid, amount string, hdr ...string) masspay.PayoutTxnResp {
	h.t.Helper()
	a := decimal.RequireFromString(amount)
	var out masspay.PayoutTxnResp
	h.call(200, "POST", "/"+user, masspay.PayoutTxn{ClientTransferID: ctid, DestinationCurrencyCode: "USD",
		SourceToken: h.sourceToken("USD"), DestinationToken: dst, SourceAmount: &a}, &out, hdr...)
	return out
}

func (h *harness) commit(user, payoutToken string, hdr ...string) masspay.PayoutTxnCommitResp {
	h.t.Helper()
	var out masspay.PayoutTxnCommitResp
	h.call(200, "PUT", "/"+user+"/"+payoutToken, nil, &out, hdr...)
	return out
}

func (h *harness) status(user, payoutToken string) masspay.PayoutTxnResp {
	h.t.Helper()
	var out masspay.PayoutTxnResp
	h.call(200, "GET", "/"+user+"/"+payoutToken+"?force_status_update=false", nil, &out)
	return out
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }
