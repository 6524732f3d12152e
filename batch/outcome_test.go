package batch

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// The tests of issue 17's cases put a small proxy between the runner and the
// real embedded sandbox: it forwards each request and may replace MassPay's
// answer (the money moved, the runner hears something else), or answers
// itself without forwarding (the money did not move). Each test then checks
// the row's state against the sandbox's audit view, read over HTTP.

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
		{"429", callCommit, api(429, ""), false, verdictNotDone},
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
