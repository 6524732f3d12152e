package sandbox

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
)

// stateScript drives a sandbox through every kind of state: users (one on
// hold), stored attributes, a committed payout under an Idempotency-Key, a
// .16 payout, an uncommitted quote, a processed and a scheduled load, an
// autopay rule, and a clock moved forward. It returns the requests sent
// with an Idempotency-Key and what they answered.
type sentRequest struct {
	method, path, key string
	body              any
	answer            []byte
}

type scriptTokens struct {
	user, held, dst, payout, payout16, wallet string
}

func stateScript(h *harness) (scriptTokens, []sentRequest) {
	h.t.Helper()
	var tk scriptTokens
	var sent []sentRequest
	send := func(method, path, key string, body, out any) {
		b := h.call(200, method, path, body, out, "Idempotency-Key", key)
		sent = append(sent, sentRequest{method, path, key, body, b})
	}
	tk.user, tk.dst = h.payee("ann@example.com")
	tk.held = h.createUser("bob@kyc-hold.example", nil).UserToken
	usd := h.sourceToken("USD")
	amt := dec("100.00")
	var p masspay.PayoutTxnResp
	send("POST", "/"+tk.user, "init-1", masspay.PayoutTxn{ClientTransferID: "ct-1", DestinationCurrencyCode: "USD",
		SourceToken: usd, DestinationToken: tk.dst, SourceAmount: &amt}, &p)
	tk.payout = p.PayoutToken
	send("PUT", "/"+tk.user+"/"+tk.payout, "commit-1", nil, nil)
	tk.payout16 = h.initiate(tk.user, tk.dst, "ct-2", "50.16").PayoutToken
	h.commit(tk.user, tk.payout16)
	h.initiate(tk.user, tk.dst, "ct-3", "20.00")
	var ld masspay.LoadTxnResp
	send("POST", "/load/"+tk.user, "load-1", masspay.LoadTxn{ClientLoadID: "l-1", SourceToken: usd, Amount: dec("300")}, &ld)
	tk.wallet = ld.WalletToken
	send("POST", "/wallet/"+tk.user+"/"+tk.wallet+"/autopayout", "rule-1",
		masspay.AutopayRuleTxn{DestinationToken: tk.dst, Percentage: dec("10")}, nil)
	at := t0.Add(10 * time.Minute)
	send("POST", "/load/"+tk.user, "load-2", masspay.LoadTxn{ClientLoadID: "l-2", SourceToken: usd, Amount: dec("200"), TimeToProcess: &at}, nil)
	h.advance(2 * time.Minute)
	return tk, sent
}

// observe GETs everything a client can read about the script's state.
func observe(h *harness, tk scriptTokens) map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for _, p := range []string{
		"/user/" + tk.user, "/user/" + tk.held, "/user/lookup?internal_user_id=int-ann@example.com",
		"/" + tk.user + "/" + tk.payout, "/" + tk.user + "/" + tk.payout16, "/" + tk.user,
		"/load/" + tk.user, "/wallet/" + tk.user, "/wallet/" + tk.user + "/" + tk.wallet + "/autopayout",
		"/attribute/" + tk.user + "/" + tk.dst + "/USD", "/account/balance", "/user/history",
		"/account/statement?start_date=2025-03-01&end_date=2025-03-20", "/_sandbox/audit", "/_sandbox/clock",
	} {
		out[p] = string(h.call(200, "GET", p, nil, nil))
	}
	return out
}

// restart closes h's server and starts a new one on the same state file,
// with a fresh manual clock standing at t0 (behind the saved time).
func restart(h *harness, cfg Config) *harness {
	h.t.Helper()
	if err := h.srv.Close(); err != nil {
		h.t.Fatal(err)
	}
	cfg.Clock = NewManualClock(t0)
	srv, err := Start(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { srv.Close() })
	mc := cfg.Clock.(*ManualClock)
	return &harness{t: h.t, srv: srv, clock: mc, hc: h.hc}
}

func TestStateFileRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := Config{APIKey: testKey, Seed: 7, StateFile: path}
	a := start(t, func(c *Config) { c.StateFile = path })
	ctl := start(t, nil) // the same story without a restart
	tk, sent := stateScript(a)
	tkCtl, _ := stateScript(ctl)
	if tk != tkCtl {
		t.Fatalf("a state file changed the tokens: %+v vs %+v", tk, tkCtl)
	}
	before := observe(a, tk)

	a = restart(a, cfg)
	if got := a.clock.Now(); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("resumed manual clock at %v, want the saved %v", got, t0.Add(2*time.Minute))
	}
	after := observe(a, tk)
	for p, want := range before {
		if after[p] != want {
			t.Errorf("GET %s after restart:\n got %s\nwant %s", p, after[p], want)
		}
	}
	for _, r := range sent {
		b := a.call(200, r.method, r.path, r.body, nil, "Idempotency-Key", r.key)
		if !bytes.Equal(b, r.answer) {
			t.Errorf("replay of %s %s (key %s) after restart:\n got %s\nwant %s", r.method, r.path, r.key, b, r.answer)
		}
	}
	st, b := a.do("POST", "/load/"+tk.user, masspay.LoadTxn{ClientLoadID: "l-1", SourceToken: a.sourceToken("USD"), Amount: dec("300")},
		"Idempotency-Key", "load-1-again")
	if e := errBody(t, b); st != 409 || e.Error == nil || e.Error.Reason != "duplicate" {
		t.Errorf("reused client_load_id after restart: %d %s", st, b)
	}
	if q := a.initiate(tk.user, tk.dst, "ct-1", "100.00"); q.PayoutToken != masspay.PayoutTokenDuplicate {
		t.Errorf("initiate with a committed client_transfer_id after restart: %+v", q)
	}
	if st, _ := a.do("POST", "/load/"+tk.held, masspay.LoadTxn{ClientLoadID: "l-h", SourceToken: a.sourceToken("USD"), Amount: dec("1")}); st != 403 {
		t.Errorf("load to the held user after restart: %d, want 403", st)
	}

	// The timeline goes on as if nothing happened: the scheduled load runs
	// its autopay rule, payouts complete, the .16 one flips, new tokens do
	// not collide with old ones.
	for _, h := range []*harness{a, ctl} {
		h.advance(10 * time.Minute)
		h.call(200, "POST", "/load/"+tk.user, masspay.LoadTxn{ClientLoadID: "l-3", SourceToken: h.sourceToken("USD"), Amount: dec("40")}, nil)
		h.createUser("cy@example.com", nil)
		h.advance(40 * time.Minute)
	}
	gotA, gotCtl := observe(a, tk), observe(ctl, tkCtl)
	for p, want := range gotCtl {
		if gotA[p] != want {
			t.Errorf("GET %s, restarted vs never stopped:\n got %s\nwant %s", p, gotA[p], want)
		}
	}
	au := a.audit()
	if len(au.Loads) != 3 || len(au.Payouts) != 5 {
		t.Errorf("audit after the timeline: %d loads, %d payouts; want 3 and 5 (one autopay)", len(au.Loads), len(au.Payouts))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(testKey)) {
		t.Error("the state file holds the API key")
	}
}

func TestStateFileMissingAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "new.json")
	s, err := New(Config{APIKey: testKey, StateFile: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Audit().Balances; len(got) != 5 || got[3].CurrencyCode != "USD" || !got[3].Balance.Equal(dec("1000000")) {
		t.Errorf("fresh state balances: %+v", got)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("a fresh sandbox did not create its state file: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 { // the snapshot and its journal
		t.Errorf("temp files left next to the state file: %v", entries)
	}

	for name, content := range map[string]string{
		"truncated.json": `{"version":1,"balances":[`,
		"version.json":   `{"version":99}`,
		"route.json":     `{"version":1,"rng":"","payouts":[{"payout":{"payout_token":"payout_x","destination_token":"dst_nope"}}]}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{APIKey: testKey, StateFile: p})
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err %v, want an error naming the file", name, err)
		}
	}
	if _, err := New(Config{APIKey: testKey, StateFile: filepath.Join(dir, "no-such-dir", "s.json")}); err == nil {
		t.Error("an unwritable state file path was accepted")
	}
}

func TestStateFileOffDoesNoIO(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	h := start(t, nil)
	h.payee("io@example.com")
	h.srv.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written without a state file: %v", entries)
	}
}
