package masspay_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
	"github.com/shopspring/decimal"
)

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
	_, err := e.c.CreateUser(e.ctx, "", masspay.User{Profile: masspay.Profile{InternalUserID: "emp-4", Country: "USA", FirstName: "Di", LastName: "Eve", Email: "di@example.com"}})
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
