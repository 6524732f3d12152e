package batch

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// TestRateLimitedCallsNeverEndARow: MassPay answers 429 to two in five
// requests after the balance check (creating payees, lookups, routes,
// details, loads, initiates, commits) and the client has no retries of its
// own, so each 429 reaches the runner. A 429 is "not done, try again": no
// row ends FAILED or NEEDS_ACTION; a row that met too many is left in
// flight for the next run, which pays it; every row is paid or loaded
// exactly once.
func TestRateLimitedCallsNeverEndARow(t *testing.T) {
	g, p := newHostileRig(t, rigOptions{maxRetries: -1})
	rng := rand.New(rand.NewPCG(21, 1))
	n, refused := 0, 0
	p.setRule(func(r *http.Request, body []byte, forward func() proxied) (proxied, bool) {
		n++
		if n > 1 && rng.IntN(5) < 2 { // the first, the run's balance check, passes
			refused++
			return proxied{http.StatusTooManyRequests, `{"code":"429","message":"Too many requests","details":"slow down","timestamp":"2026-01-01T00:00:00Z"}`}, true
		}
		return proxied{}, false
	})
	var lines []sheetLine
	for i := 1; i <= 6; i++ {
		if i%2 == 0 {
			lines = append(lines, loadLine(fmt.Sprintf("RL-%d", i), i, "30.00"))
		} else {
			lines = append(lines, bankLine(fmt.Sprintf("RL-%d", i), i, "40.00"))
		}
	}
	runID := g.ingest(writeSheetCSV(t, g.dir, lines))
	g.run(runID, 3)
	if refused < 10 {
		t.Fatalf("only %d of %d requests answered 429", refused, n)
	}
	left := 0
	for id, r := range g.rows(runID) {
		switch {
		case r.State == ledger.StateFailed || r.State == ledger.StateNeedsAction:
			t.Errorf("%s ended %s after 429s: %s", id, r.State, r.LastError)
		case !r.State.Final():
			left++
		}
	}
	if left > 0 {
		// As a user would: run the sheet again, MassPay calmer now.
		t.Logf("%d rows left in flight after %d of %d requests answered 429; running again", left, refused, n)
		p.setRule(nil)
		g.run(runID, 3)
	}
	for id, r := range g.check(runID) {
		if r.State != ledger.StatePaid && r.State != ledger.StateLoaded {
			t.Errorf("%s ended %s: %s", id, r.State, r.LastError)
		}
	}
}

// TestClassifyRateLimited: a 429, alone or after the client gave up
// retrying it, and on every money call, is not done (the row stays in
// flight and the same key goes again, no look-up first), never a refusal
// and never an unknown outcome.
func TestClassifyRateLimited(t *testing.T) {
	tooMany := &masspay.APIError{StatusCode: http.StatusTooManyRequests, Code: "429"}
	gaveUp := &masspay.RetryError{Attempts: 4, Reason: "retry budget exhausted", Err: tooMany}
	for _, call := range []moneyCall{callLoad, callInitiate, callCommit} {
		for _, err := range []error{tooMany, gaveUp} {
			for _, unresolved := range []bool{false, true} {
				if got := classifyOutcome(call, err, unresolved); got != verdictNotDone {
					t.Errorf("%s, %v, unresolved %v: verdict %d, want not done", call, err, unresolved, got)
				}
			}
		}
	}
}

// TestRateLimitedMoneyCallIsNotUnknown: each load, initiate and commit is
// first answered 429 twice, past the client's retries. A 429 is a definite
// "not done": the row stays where it is and the same key goes again, with
// no look-up before it, no "outcome unknown" trail, and none of the
// unknown-outcome budget spent (here 1: two unknowns in a row would leave
// the row for the next run).
func TestRateLimitedMoneyCallIsNotUnknown(t *testing.T) {
	g, p := newHostileRig(t, rigOptions{maxRetries: -1})
	tries := map[string]int{}
	var lookups []string
	p.setRule(func(r *http.Request, body []byte, forward func() proxied) (proxied, bool) {
		path := strings.TrimPrefix(r.URL.Path, "/v1.0.0/payout/")
		money := r.Method == http.MethodPost && strings.HasPrefix(path, "load/") ||
			r.Method == http.MethodPost && strings.HasPrefix(path, "usr_") ||
			r.Method == http.MethodPut && strings.HasPrefix(path, "usr_")
		if r.Method == http.MethodGet && (strings.HasPrefix(path, "load/") || strings.HasPrefix(path, "usr_") ||
			strings.HasSuffix(path, "/history")) {
			lookups = append(lookups, r.Method+" "+path)
		}
		if !money {
			return proxied{}, false
		}
		k := r.Method + " " + r.Header.Get("Idempotency-Key")
		tries[k]++
		if tries[k] <= 2 {
			return proxied{http.StatusTooManyRequests, `{"code":"429","message":"Too many requests","details":"slow down","timestamp":"2026-01-01T00:00:00Z"}`}, true
		}
		return proxied{}, false
	})
	runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{loadLine("RLN-1", 1, "30.00"), bankLine("RLN-2", 2, "40.00")}))
	r := g.runner(1)
	r.UnknownOutcomeRetries = 1
	if _, err := r.Run(g.ctx, g.ctx, runID); err != nil {
		t.Fatal(err)
	}
	if len(tries) != 3 {
		t.Errorf("money calls seen: %v, want a load, an initiate and a commit", tries)
	}
	for id, row := range g.rows(runID) {
		if row.State != ledger.StatePaid && row.State != ledger.StateLoaded {
			t.Errorf("%s is %s after 429s, want paid in this run: %s", id, row.State, row.LastError)
		}
		for _, ev := range g.events(id) {
			if strings.HasPrefix(ev.Message, msgUnknownPrefix) {
				t.Errorf("%s: a 429 recorded as an unknown outcome: %s", id, ev.Message)
			}
		}
	}
	if len(lookups) > 0 {
		t.Errorf("look-ups after a 429, which is definitely not done: %v", lookups)
	}
}
