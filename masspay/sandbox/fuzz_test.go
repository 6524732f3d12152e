package sandbox

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/payrun/payrun/masspay"
)

// fuzzSandbox is an in-process sandbox with one user, its USD source token
// and the USA bank route, for the fuzz targets.
func fuzzSandbox(f *testing.F) (*Sandbox, string, string, string) {
	s, err := New(Config{APIKey: "k", Clock: NewManualClock(t0)})
	if err != nil {
		f.Fatal(err)
	}
	s.mu.Lock()
	u := &user{StoredUser: masspay.StoredUser{Profile: masspay.Profile{Email: "f@x.co", InternalUserID: "f"}, UserToken: "usr_fuzz", Status: masspay.UserActive}}
	s.users[u.UserToken] = u
	w := s.walletFor(u, "USD")
	usd := s.balances["USD"].token
	s.mu.Unlock()
	return s, usd, catalog[0].Token, w.Token
}

// fuzzPost sends body to path and fails on a panic or an unexpected status.
func fuzzPost(t *testing.T, s *Sandbox, method, path string, body []byte) {
	req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "k")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	switch rec.Code {
	case 200, 400, 403, 404, 409, 422:
	default:
		t.Fatalf("%s %s %q: status %d %s", method, path, body, rec.Code, rec.Body)
	}
	if rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
	}
}

func FuzzCreateUser(f *testing.F) {
	s, _, _, _ := fuzzSandbox(f)
	f.Add([]byte(`{"internal_user_id":"1","country":"USA","first_name":"a","last_name":"b","email":"a@b.co","metadata":{"x":1}}`))
	f.Add([]byte(`{"internal_user_id":1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, s, http.MethodPost, "/v1.0.0/payout/user", body)
		fuzzPost(t, s, http.MethodPut, "/v1.0.0/payout/user/usr_fuzz", body)
	})
}

func FuzzInitiatePayout(f *testing.F) {
	s, usd, dst, _ := fuzzSandbox(f)
	f.Add([]byte(`{"client_transfer_id":"c","destination_currency_code":"USD","source_token":"` + usd + `","destination_token":"` + dst + `","source_amount":10.5}`))
	f.Add([]byte(`{"destination_currency_code":"USD","source_token":"` + usd + `","destination_token":"` + dst + `","destination_amount":"1e99999","auto_commit":true}`))
	f.Add([]byte(`{"source_amount":-0.000000000000000000001}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, s, http.MethodPost, "/v1.0.0/payout/usr_fuzz", body)
	})
}

func FuzzLoad(f *testing.F) {
	s, usd, _, _ := fuzzSandbox(f)
	f.Add([]byte(`{"client_load_id":"l","source_token":"` + usd + `","amount":10,"time_to_process":"2030-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"client_load_id":"l","source_token":"` + usd + `","amount":1e-30}`))
	f.Add([]byte(`{"amount":null,"notes":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, s, http.MethodPost, "/v1.0.0/payout/load/usr_fuzz", body)
	})
}

func FuzzAttributesAndAutopay(f *testing.F) {
	s, _, dst, wlt := fuzzSandbox(f)
	f.Add([]byte(`{"values":[{"token":"` + attrToken(dst, "BankAccountNumber") + `","value":"1234"}]}`))
	f.Add([]byte(`{"destination_token":"` + dst + `","percentage":50}`))
	f.Add([]byte(`{"values":null,"attr_set_token":7}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, s, http.MethodPost, "/v1.0.0/payout/attribute/usr_fuzz/"+dst+"/USD", body)
		fuzzPost(t, s, http.MethodPost, "/v1.0.0/payout/wallet/usr_fuzz/"+wlt+"/autopayout", body)
	})
}

func FuzzSandboxAdmin(f *testing.F) {
	s, _, _, _ := fuzzSandbox(f)
	f.Add([]byte(`{"currency_code":"USD","amount":-12.34}`))
	f.Add([]byte(`{"latency":"5ms","error_rate":0.5,"rate_limit":0}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, s, http.MethodPost, "/_sandbox/balance/adjust", body)
		fuzzPost(t, s, http.MethodPost, "/_sandbox/faults", body)
		s.SetFaults(Faults{}) // a fuzzed fault setting must not leak into the next input
	})
}
