package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
)

func TestAuthVariants(t *testing.T) {
	h := start(t, nil)
	for _, c := range []struct {
		auth string
		want int
	}{{"Bearer " + testKey, 200}, {"bearer " + testKey, 200}, {testKey, 200}, {"Bearer wrong", 401}, {"", 401}, {"Basic " + testKey, 401}} {
		st, b := h.do("GET", "/account/balance", nil, "Authorization", c.auth)
		if st != c.want {
			t.Errorf("Authorization %q: %d, want %d: %s", c.auth, st, c.want, b)
		}
	}
	if st, _ := h.do("GET", "/_sandbox/audit", nil, "Authorization", ""); st != 401 {
		t.Errorf("audit without key: %d", st)
	}
}

func TestRoutingWordsWinOverTokens(t *testing.T) {
	h := start(t, nil)
	u := h.createUser("route@example.com", nil)
	// /user/lookup is the lookup, not a user called "lookup".
	st, b := h.do("GET", "/user/lookup", nil)
	if e := errBody(t, b); st != 400 || e.Error.Details[0] != "internal_user_id" {
		t.Fatalf("/user/lookup: %d %s", st, b)
	}
	var hist []masspay.TxnHistory
	h.call(200, "GET", "/user/history?number_of_records=10&page=1&show_all_clients=false", nil, &hist)
	h.call(200, "GET", "/account/balance", nil, nil)
	h.call(200, "GET", "/country/list", nil, nil)
	h.call(200, "GET", "/user/"+u.UserToken, nil, nil)
	h.call(200, "GET", "/wallet/"+u.UserToken, nil, nil)
	h.call(200, "GET", "/load/"+u.UserToken, nil, nil)
	h.call(200, "GET", "/"+u.UserToken, nil, nil)
	h.call(200, "GET", "/user/"+u.UserToken+"/", nil, nil) // trailing slash
	for _, p := range []string{"/user/usr_nope", "/usr_nope/payout_x", "/wallet/usr_nope", "/load/usr_nope",
		"/" + u.UserToken + "/payout_nope", "/service/dst_nope", "/attribute/" + u.UserToken + "/dst_nope/USD",
		"/nothing", "/account", "/v1.0.0/other", "/x"} {
		if st, b := h.do("GET", p, nil); st != 404 {
			t.Errorf("GET %s: %d %s", p, st, b)
		}
	}
}

// TestPayoutPathsAreMassPays holds the payout endpoints to MassPay's own
// route list (masspay-js-sdk 2.0.0 PayoutService: /payout/{user_token} under
// the base /v1.0.0): no second "payout" word, and the old double-"payout"
// paths are unknown, as they are at MassPay.
func TestPayoutPathsAreMassPays(t *testing.T) {
	h := start(t, nil)
	u, dst := h.payee("ann@example.com")
	p := h.initiate(u, dst, "ct-1", "10.00")
	h.commit(u, p.PayoutToken)
	for _, c := range []struct{ method, path string }{
		{"POST", "/payout/" + u}, {"GET", "/payout/" + u}, {"PUT", "/payout/" + u + "/" + p.PayoutToken},
		{"GET", "/payout/" + u + "/" + p.PayoutToken}, {"PATCH", "/payout/" + u + "/" + p.PayoutToken},
	} {
		st, b := h.do(c.method, c.path, nil, "Idempotency-Key", "old-"+c.method)
		if st != 404 || !strings.Contains(string(b), "no such path") {
			t.Errorf("%s %s (old double-payout path): %d %s, want 404 no such path", c.method, c.path, st, b)
		}
	}
	h.call(200, "GET", "/"+u+"/"+p.PayoutToken, nil, nil)
	h.call(200, "PATCH", "/"+u+"/"+p.PayoutToken, nil, nil)
	// Fixed words still win over a token in the first segment.
	for _, path := range []string{"/user/lookup?email=ann@example.com&first_name=Ann", "/account/balance", "/country/list", "/tax"} {
		if st, b := h.do("GET", path, nil); st != 200 && !strings.Contains(string(b), "no user matches") {
			t.Errorf("GET %s: %d %s", path, st, b)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := start(t, nil)
	for _, c := range []struct{ method, path string }{
		{"POST", "/account/balance"}, {"DELETE", "/user"}, {"GET", "/user"}, {"DELETE", "/usr_x"},
		{"POST", "/usr_x/payout_y"}, {"POST", "/wallet/usr_x"}, {"PUT", "/country/USA/best"}, {"POST", "/usr_x/tax"},
		{"POST", "/tax"}, {"GET", "/_sandbox/clock/advance"}, {"DELETE", "/_sandbox/audit"},
	} {
		resp, b, err := h.raw(c.method, c.path, nil)
		if err != nil || resp.StatusCode != 405 || resp.Header.Get("Allow") == "" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %v %v %s", c.method, c.path, err, resp.StatusCode, b)
		}
	}
}

func TestBadInputNamesTheField(t *testing.T) {
	h := start(t, nil)
	u, dst := h.payee("bad@example.com")
	usd := h.sourceToken("USD")
	for _, c := range []struct {
		path, body, field string
	}{
		{"/user", `{"internal_user_id":"x","country":"USA","first_name":"a","last_name":"b"}`, "email"},
		{"/user", `{"internal_user_id":"x","country":"US","first_name":"a","last_name":"b","email":"a@b.co"}`, "country"},
		{"/user", `not json`, "body"},
		{"/user", `[]`, "body"},
		{"/" + u, `{"destination_currency_code":"USD","source_token":"` + usd + `","destination_token":"` + dst + `"}`, "source_amount"},
		{"/" + u, `{"destination_currency_code":"MXN","source_token":"` + usd + `","destination_token":"` + dst + `","source_amount":5}`, "destination_currency_code"},
		{"/" + u, `{"destination_currency_code":"USD","source_token":"nope","destination_token":"` + dst + `","source_amount":5}`, "source_token"},
		{"/" + u, `{"destination_currency_code":"USD","source_token":"` + usd + `","destination_token":"` + dst + `","source_amount":"abc"}`, "source_amount"},
		{"/" + u, `{"destination_currency_code":"USD","source_token":"` + usd + `","destination_token":"` + dst + `","source_amount":1e400}`, "source_amount"},
		{"/" + u, `{"destination_currency_code":"USD","source_token":"` + usd + `","destination_token":"` + dst + `","source_amount":60000}`, "source_amount"},
		{"/" + u, `{"destination_currency_code":"USD","source_token":"` + usd + `","destination_token":"` + dst + `","source_amount":5.001}`, "source_amount"},
		{"/load/" + u, `{"client_load_id":"a","source_token":"` + usd + `","amount":-5}`, "amount"},
		{"/load/" + u, `{"client_load_id":"a","source_token":"` + usd + `","amount":5,"time_to_process":"tomorrow"}`, "time_to_process"},
		{"/load/" + u, `{"source_token":"` + usd + `","amount":5}`, "client_load_id"},
	} {
		st, b := h.do("POST", c.path, c.body)
		e := errBody(t, b)
		if st != 400 || e.Title == "" || e.Message == "" || e.Code != 400 || e.Error == nil || len(e.Error.Details) == 0 || e.Error.Details[0] != c.field {
			t.Errorf("POST %s %s: %d %s (want field %s)", c.path, c.body, st, b, c.field)
		}
	}
}

// receiver is an httptest webhook receiver that verifies every signature.
type receiver struct {
	mu     sync.Mutex
	events []masspay.WebhookEvent
	bad    int
	fail   int // answer 500 this many times first
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail > 0 {
		rc.fail--
		w.WriteHeader(500)
		return
	}
	if _, err := masspay.VerifySignature([]byte("whsec"), r.Header.Get(masspay.SignatureHeader), b, time.Now(), time.Minute); err != nil {
		rc.bad++
		w.WriteHeader(400)
		return
	}
	var ev masspay.WebhookEvent
	json.Unmarshal(b, &ev)
	rc.events = append(rc.events, ev)
}

func (rc *receiver) got() []masspay.WebhookEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]masspay.WebhookEvent(nil), rc.events...)
}

func webhookHarness(t *testing.T, rc *receiver, f Faults) *harness {
	ts := httptest.NewServer(rc)
	t.Cleanup(ts.Close)
	return start(t, func(c *Config) { c.WebhookURL, c.WebhookSecret, c.Faults = ts.URL, "whsec", f })
}

func TestWebhooksSignedAndInOrder(t *testing.T) {
	rc := &receiver{fail: 2}
	h := webhookHarness(t, rc, Faults{})
	u, dst := h.payee("hook@example.com")
	p := h.initiate(u, dst, "w-1", "10")
	h.commit(u, p.PayoutToken)
	h.call(200, "POST", "/load/"+u, masspay.LoadTxn{ClientLoadID: "wl-1", SourceToken: h.sourceToken("USD"), Amount: dec("3")}, nil)
	h.advance(5 * time.Minute)
	if err := h.srv.FlushWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, ev := range rc.got() {
		if ev.EventType == masspay.EventPayout && ev.PayoutToken == p.PayoutToken && ev.ClientTransferID == "w-1" && ev.EventTime != "" {
			statuses = append(statuses, ev.Status)
		}
		if ev.EventType == masspay.EventLoad && (ev.ClientLoadID != "wl-1" || ev.Status != "COMPLETED" || ev.Amount == nil) {
			t.Errorf("load event: %+v", ev)
		}
	}
	if len(statuses) != 3 || statuses[0] != "PENDING" || statuses[1] != "PROCESSING" || statuses[2] != "COMPLETED" || rc.bad != 0 {
		t.Fatalf("payout events: %v (bad signatures %d), all %+v", statuses, rc.bad, rc.got())
	}
	if n := len(rc.got()); n != 4 {
		t.Fatalf("events: %d, want 4 (delivered once each despite 2 failures)", n)
	}
}

func TestWebhookDuplicateAndReorderFaults(t *testing.T) {
	rc := &receiver{}
	h := webhookHarness(t, rc, Faults{WebhookDuplicateRate: 1})
	u, dst := h.payee("dup-hook@example.com")
	p := h.initiate(u, dst, "wd-1", "10")
	h.commit(u, p.PayoutToken)
	if err := h.srv.FlushWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := rc.got()
	if len(ev) != 2 {
		t.Fatalf("duplicate fault: %+v", ev)
	}
	a, _ := json.Marshal(ev[0])
	b, _ := json.Marshal(ev[1])
	if string(a) != string(b) {
		t.Fatalf("duplicate differs:\n%s\n%s", a, b)
	}

	rc2 := &receiver{}
	h2 := webhookHarness(t, rc2, Faults{WebhookReorder: true})
	u2, dst2 := h2.payee("reorder@example.com")
	for i := 0; i < 6; i++ {
		p := h2.initiate(u2, dst2, "wr-"+string(rune('a'+i)), "10")
		h2.commit(u2, p.PayoutToken)
		h2.srv.Advance(time.Minute) // every commit and status change at its own time
	}
	h2.srv.Advance(10 * time.Minute)
	if err := h2.srv.FlushWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs := rc2.got()
	times := make([]string, len(evs))
	for i, ev := range evs {
		times[i] = ev.EventTime
	}
	if len(evs) != 18 || sort.StringsAreSorted(times) {
		t.Fatalf("reorder fault: %d events, times %v", len(evs), times)
	}
}

func TestLostResponsesStillPayOncePerID(t *testing.T) {
	h := start(t, nil)
	u, dst := h.payee("lost@example.com")
	usd := h.sourceToken("USD")
	h.srv.SetFaults(Faults{LostResponseRate: 0.2})
	lost := 0
	send := func(method, path string, body any, key string, out any) {
		for attempt := 0; ; attempt++ {
			if attempt > 50 {
				t.Fatalf("%s %s: gave up", method, path)
			}
			resp, b, err := h.raw(method, path, body, "Idempotency-Key", key)
			if err != nil {
				lost++
				continue
			}
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
			}
			json.Unmarshal(b, out)
			return
		}
	}
	for i := 0; i < 50; i++ {
		id := "lost-" + string(rune('A'+i/26)) + string(rune('a'+i%26))
		amt := dec("10")
		var p masspay.PayoutTxnResp
		send("POST", "/"+u, masspay.PayoutTxn{ClientTransferID: id, DestinationCurrencyCode: "USD", SourceToken: usd,
			DestinationToken: dst, SourceAmount: &amt}, id, &p)
		var c masspay.PayoutTxnCommitResp
		send("PUT", "/"+u+"/"+p.PayoutToken, nil, id+"#commit", &c)
		if c.Status != masspay.CommitSuccess {
			t.Fatalf("%s: commit %+v", id, c)
		}
	}
	h.srv.SetFaults(Faults{})
	committed := map[string]int{}
	for _, p := range h.audit().Payouts {
		if p.Committed {
			committed[p.ClientTransferID]++
		}
	}
	if len(committed) != 50 {
		t.Fatalf("committed ids: %d, want 50", len(committed))
	}
	for id, n := range committed {
		if n != 1 {
			t.Errorf("%s committed %d times", id, n)
		}
	}
	if lost == 0 {
		t.Fatal("no response was lost; the fault did not fire")
	}
	if got := h.balance("USD"); !got.Equal(dec("999425")) { // 50 * 11.50
		t.Fatalf("USD: %s", got)
	}
}

func TestErrorRateDoesNothing(t *testing.T) {
	h := start(t, func(c *Config) { c.Faults.ErrorRate = 1 })
	for i := 0; i < 5; i++ {
		st, _ := h.do("POST", "/user", masspay.User{Profile: masspay.Profile{InternalUserID: "e", Country: "USA", FirstName: "a", LastName: "b", Email: "e@x.co"}})
		if st != 500 && st != 502 && st != 504 {
			t.Fatalf("error fault: %d", st)
		}
	}
	h.srv.SetFaults(Faults{})
	h.call(404, "GET", "/user/lookup?internal_user_id=e", nil, nil)
}

func TestRateLimit(t *testing.T) {
	h := start(t, func(c *Config) { c.Faults.RateLimit = 1 })
	h.call(200, "GET", "/account/balance", nil, nil)
	resp, b, err := h.raw("GET", "/account/balance", nil)
	if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("rate limit: %v %v %s", err, resp.StatusCode, b)
	}
	var body map[string]any
	json.Unmarshal(b, &body)
	if body["code"] == nil || body["message"] == nil || body["details"] == nil || body["timestamp"] == nil {
		t.Fatalf("429 body: %s", b)
	}
	if resp.Header.Get("X-RateLimit-Limit") != "1" || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("429 rate-limit headers: %v", resp.Header)
	}
}

// TestRateLimitHeaders: under a rate limit every answer names the limit
// (requests per second) and what is left of it; without one, none does.
func TestRateLimitHeaders(t *testing.T) {
	h := start(t, func(c *Config) { c.Faults.RateLimit = 5 })
	resp, _, err := h.raw("GET", "/account/balance", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("balance: %v %v", err, resp)
	}
	if got := resp.Header.Get("X-RateLimit-Limit"); got != "5" {
		t.Fatalf("X-RateLimit-Limit %q, want 5", got)
	}
	if got := resp.Header.Get("X-RateLimit-Remaining"); got != "4" && got != "3" {
		t.Fatalf("X-RateLimit-Remaining %q after one of five", got)
	}
	if resp.Header.Get("X-RateLimit-Reset") == "" {
		t.Fatal("no X-RateLimit-Reset")
	}
	h.srv.SetFaults(Faults{RateLimit: 5, RateLimitQuiet: true})
	resp, _, _ = h.raw("GET", "/account/balance", nil)
	if resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Fatalf("rate-limit headers with rate_limit_quiet: %v", resp.Header)
	}
	h.srv.SetFaults(Faults{})
	resp, _, _ = h.raw("GET", "/account/balance", nil)
	if resp.Header.Get("X-RateLimit-Limit") != "" {
		t.Fatalf("rate-limit headers without a limit: %v", resp.Header)
	}
}

func TestFaultsEndpoint(t *testing.T) {
	h := start(t, nil)
	var f map[string]any
	h.call(200, "POST", "/_sandbox/faults", `{"latency":"5ms","error_rate":0.5,"webhook_reorder":true}`, &f)
	if got := h.srv.Faults(); got.Latency != 5*time.Millisecond || got.ErrorRate != 0.5 || !got.WebhookReorder {
		t.Fatalf("faults: %+v", got)
	}
	h.call(200, "POST", "/_sandbox/faults", `{"error_rate":0}`, nil)
	if got := h.srv.Faults(); got.Latency != 5*time.Millisecond || got.ErrorRate != 0 {
		t.Fatalf("partial update: %+v", got)
	}
	h.call(400, "POST", "/_sandbox/faults", `{"error_rate":2}`, nil)
	h.call(200, "POST", "/_sandbox/balance/adjust", `{"currency_code":"USD","amount":-12.34}`, nil)
	if !h.balance("USD").Equal(dec("999987.66")) {
		t.Fatalf("adjust: %s", h.balance("USD"))
	}
}

func TestAdvanceOnRealClockIsHarmless(t *testing.T) {
	s, err := New(Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Advance(time.Hour)
	if _, err := New(Config{}); !errors.Is(err, ErrNoAPIKey) {
		t.Fatalf("no key: %v", err)
	}
	if _, err := s.HoldUser("usr_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("hold unknown: %v", err)
	}
}
