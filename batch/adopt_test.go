package batch

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
	"github.com/shopspring/decimal"
)

// Case 3: a payout or load found after DUPLICATE is adopted only if it is
// the row's money; one of another amount makes the row a CONFLICT showing
// both sides, and nothing more is paid.
func TestOutcomeCase3AdoptionChecksTheMoney(t *testing.T) {
	t.Run("payout", func(t *testing.T) {
		g := newRig(t, rigOptions{})
		line := bankLine("C3-PAY", 1, "210.00")
		tok := prePay(t, g, line, "5.00")
		runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
		g.run(runID, 1)
		row := must(g.led.Row(g.ctx, line.id))(t)
		if row.State != ledger.StateConflict {
			t.Fatalf("row %s (%s %v), want CONFLICT", row.State, row.PayoutToken, row.SourceAmount)
		}
		for _, want := range []string{tok, "5", "210"} {
			if !strings.Contains(row.LastError, want) {
				t.Errorf("reason %q does not show %q", row.LastError, want)
			}
		}
		got := committedFor(g.auditHTTP(), line.id)
		if len(got) != 1 || got[0].PayoutToken != tok || !got[0].SourceAmount.Equal(decimal.RequireFromString("5.00")) {
			t.Errorf("audit: %+v, want only the earlier 5.00 payout %s", got, tok)
		}
	})
	t.Run("load", func(t *testing.T) {
		g := newRig(t, rigOptions{})
		line := loadLine("C3-LOAD", 2, "210.00")
		tok := preLoad(t, g, line, "5.00")
		runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
		g.run(runID, 1)
		row := must(g.led.Row(g.ctx, line.id))(t)
		if row.State != ledger.StateConflict {
			t.Fatalf("row %s (%s %v), want CONFLICT", row.State, row.LoadToken, row.SourceAmount)
		}
		for _, want := range []string{tok, "5", "210"} {
			if !strings.Contains(row.LastError, want) {
				t.Errorf("reason %q does not show %q", row.LastError, want)
			}
		}
		if got := loadsFor(g.auditHTTP(), line.id); len(got) != 1 || got[0].LoadToken != tok {
			t.Errorf("audit: %+v, want only the earlier 5.00 load %s", got, tok)
		}
	})
}

// Case 4: a look-up after DUPLICATE that fails (a 4xx, an answer shaped
// like a compliance hold or NSF) leaves the row in flight; once MassPay
// answers, the row is settled from what it shows.
func TestOutcomeCase4LookupFailureAfterDuplicateStaysInFlight(t *testing.T) {
	kyc := `{"title":"Compliance hold","message":"User is on a compliance hold. Documents required: https://sandbox.masspay.example/kyc/upload/x","code":"KYC_HOLD","error":{"reason":"kyc_hold","details":["https://sandbox.masspay.example/kyc/upload/x"]}}`
	for _, tc := range []struct {
		name, status, body string
	}{
		{"kyc-shaped", "403", kyc},
		{"nsf-shaped", "400", `{"title":"Bad Request","message":"insufficient funds","code":"NSF"}`},
		{"plain 4xx", "400", `{"title":"Bad Request","message":"bad page"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, p := newHostileRig(t, rigOptions{})
			pay := bankLine("C4-PAY", 1, "210.00")
			load := loadLine("C4-LOAD", 2, "60.00")
			tok := prePay(t, g, pay, "210.00")
			preLoad(t, g, load, "60.00")
			status := map[string]int{"403": 403, "400": 400}[tc.status]
			p.setRule(func(r *http.Request, _ []byte, _ func() proxied) (proxied, bool) {
				if isHistory(r) || isLoadList(r) {
					return proxied{status, tc.body}, true
				}
				return proxied{}, false
			})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{pay, load}))
			g.runOnce(runID)
			for id, want := range map[string]ledger.State{pay.id: ledger.StateInitiating, load.id: ledger.StateLoadSent} {
				row := must(g.led.Row(g.ctx, id))(t)
				if row.State != want {
					t.Errorf("%s with MassPay's look-ups failing: %s (%s), want %s", id, row.State, row.LastError, want)
				}
			}
			if got := committedFor(g.auditHTTP(), pay.id); len(got) != 1 || got[0].PayoutToken != tok {
				t.Errorf("audit: %+v", got)
			}
			p.setRule(nil)
			g.run(runID, 1)
			paidRow(t, g, pay.id, "210.00")
			loadedRow(t, g, load.id, "60.00")
		})
	}
}

// Case 7: the email + first-name look-up finding a MassPay user filed under
// another internal_user_id is not that payee: NEEDS_ACTION naming both ids,
// and no money moves.
func TestOutcomeCase7PayeeByEmailWithOtherInternalID(t *testing.T) {
	g := newRig(t, rigOptions{})
	line := loadLine("C7-LOAD", 1, "90.00")
	other := must(g.api.CreateUser(g.ctx, "other-user", masspay.User{Profile: masspay.Profile{InternalUserID: "someone-else-77", Country: "USA",
		FirstName: line.first, LastName: "Other", Email: line.email}}))(t)
	runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
	g.run(runID, 1)
	row := must(g.led.Row(g.ctx, line.id))(t)
	if row.State != ledger.StateNeedsAction {
		t.Fatalf("row %s %s, want NEEDS_ACTION", row.State, row.UserToken)
	}
	for _, want := range []string{"someone-else-77", line.user} {
		if !strings.Contains(row.LastError, want) {
			t.Errorf("reason %q does not name %q", row.LastError, want)
		}
	}
	a := g.auditHTTP()
	if got := loadsFor(a, line.id); len(got) != 0 {
		t.Errorf("audit shows loads %+v", got)
	}
	for _, l := range a.Loads {
		if l.UserToken == other.UserToken {
			t.Errorf("money landed in the other user's wallet: %+v", l)
		}
	}
	if _, ok, _ := g.led.UserToken(g.ctx, line.user); ok {
		t.Error("the other user's token was cached for this payee")
	}
}

// Case 8a: a MassPay whose DUPLICATE covers any earlier use of a
// client_transfer_id, also an uncommitted quote. After a definite
// ex_rate_expired the fresh quote gets DUPLICATE and the history shows
// nothing: the row is paid once under a derived client_transfer_id.
func TestOutcomeCase8aDuplicateAfterExpiredQuote(t *testing.T) {
	clock := sandbox.NewManualClock(time.Now().UTC())
	g, p := newHostileRig(t, rigOptions{sandbox: sandbox.Config{Clock: clock}})
	used := map[string]string{} // client_transfer_id -> Idempotency-Key of its first initiate
	p.setRule(func(r *http.Request, body []byte, _ func() proxied) (proxied, bool) {
		if !isInitiate(r) {
			return proxied{}, false
		}
		var in struct {
			ClientTransferID string `json:"client_transfer_id"`
		}
		json.Unmarshal(body, &in)
		key := r.Header.Get("Idempotency-Key")
		if first, ok := used[in.ClientTransferID]; ok && first != key {
			return proxied{200, `{"payout_token":"DUPLICATE","status":"ERROR","client_transfer_id":"` + in.ClientTransferID + `"}`}, true
		}
		used[in.ClientTransferID] = key
		return proxied{}, false
	})
	runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{bankLine("C8A-1", 1, "310.00")}))
	r := g.runner(1)
	r.defaults()
	if err := r.loadSources(g.ctx); err != nil {
		t.Fatal(err)
	}
	row := must(g.led.Row(g.ctx, "C8A-1"))(t)
	for row.State != ledger.StateInitiated {
		row = must(r.step(g.ctx, row))(t)
		if row.State.Final() {
			t.Fatalf("row ended %s before it was initiated: %s", row.State, row.LastError)
		}
	}
	clock.Advance(3 * time.Minute) // the quote lapses: commit answers ex_rate_expired
	g.run(runID, 1)
	row = must(g.led.Row(g.ctx, "C8A-1"))(t)
	got := committedFor(g.auditHTTP(), "C8A-1")
	if row.State != ledger.StatePaid || len(got) != 1 || got[0].PayoutToken != row.PayoutToken {
		t.Fatalf("row %s %s (%s); audit %+v: want PAID once", row.State, row.PayoutToken, row.LastError, got)
	}
	if got[0].ClientTransferID == "C8A-1" || !got[0].SourceAmount.Equal(decimal.RequireFromString("310.00")) {
		t.Errorf("paid as %+v, want 310.00 under a derived client_transfer_id", got[0])
	}
	derived := false
	for _, ev := range g.events("C8A-1") {
		if strings.HasPrefix(ev.Message, "client_transfer_id derived") && strings.Contains(ev.Message, got[0].ClientTransferID) {
			derived = true
		}
	}
	if !derived {
		t.Error("no ledger event records the derived client_transfer_id before it was sent")
	}
}

// Case 8b: a 409 of any code on a load means "maybe loaded": the runner
// looks the load up by client_load_id before deciding.
func TestOutcomeCase8bLoad409AnyCode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		forward bool // the first load reached MassPay
	}{{"loaded, then 409", true}, {"409 without loading", false}} {
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
				return proxied{409, `{"title":"Conflict","message":"client_load_id already exists","code":"LOAD_EXISTS"}`}, true
			})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{loadLine("C8B-1", 1, "75.00")}))
			g.run(runID, 1)
			loadedRow(t, g, "C8B-1", "75.00")
		})
	}
}

// TestDerivedTransferIDFitsMassPay checks the derived client_transfer_id:
// the quote's key when it fits in MassPay's 50 characters, else cut with a
// hash of the id, and different for each quote and each id.
func TestDerivedTransferIDFitsMassPay(t *testing.T) {
	if got := derivedTransferID("INV-7", 3); got != "INV-7#3" {
		t.Errorf("short id: %q, want INV-7#3", got)
	}
	long := strings.Repeat("é", 49) + "x"
	seen := map[string]bool{}
	for _, id := range []string{long, strings.Repeat("é", 49) + "y"} {
		for seq := 3; seq <= 12; seq++ {
			d := derivedTransferID(id, seq)
			if n := len([]rune(d)); n > maxTransferID {
				t.Errorf("%q: %d characters", d, n)
			}
			if seen[d] {
				t.Errorf("%q derived twice", d)
			}
			seen[d] = true
		}
	}
}
