package batch

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

func TestRunnerCleanSheetPaysEveryRowOnce(t *testing.T) {
	g := newRig(t, rigOptions{})
	lines := mixedLines("CLEAN", 24)
	runID := g.ingest(writeSheetCSV(t, g.dir, lines))
	st := g.run(runID, 4)
	if st.Interrupted {
		t.Fatal("a run that was not stopped reports Interrupted")
	}
	rows := g.check(runID)
	c := countStates(rows)
	if c[ledger.StateLoaded] != 8 || c[ledger.StatePaid] != 16 {
		t.Fatalf("states %v, want 8 LOADED and 16 PAID", c)
	}
	// A second run of the same rows makes no money-moving call.
	runID2 := g.ingest(writeSheetCSV(t, g.dir, lines))
	g.calls.reset()
	g.run(runID2, 4)
	if n := g.calls.count("POST", "PUT"); n != 0 {
		t.Errorf("re-run of a finished sheet sent %d mutating requests", n)
	}
	g.check(runID2)
}

func TestRunnerPayeeProblems(t *testing.T) {
	g := newRig(t, rigOptions{})
	kyc := loadLine("PROB-KYC-LOAD", 1, "100.00")
	kyc.email = "held.one@kyc-hold.example"
	kycPay := bankLine("PROB-KYC-PAY", 2, "120.00")
	kycPay.email = "held.two@kyc-hold.example"
	missing := bankLine("PROB-MISSING", 3, "130.00")
	missing.routing = ""
	fails := bankLine("PROB-FAIL-PAY", 4, "140.13")
	failsLoad := loadLine("PROB-FAIL-LOAD", 5, "150.13")
	attrReq := bankLine("PROB-ATTR", 6, "160.14")
	newUser := cryptoLine("PROB-NEW", 7, "170.00")
	lines := []sheetLine{kyc, kycPay, missing, fails, failsLoad, attrReq, newUser}
	runID := g.ingest(writeSheetCSV(t, g.dir, lines))
	g.run(runID, 3)
	rows := g.check(runID)

	want := map[string]ledger.State{
		"PROB-KYC-LOAD": ledger.StateNeedsAction, "PROB-KYC-PAY": ledger.StateNeedsAction,
		"PROB-MISSING": ledger.StateNeedsAction, "PROB-FAIL-PAY": ledger.StateFailed,
		"PROB-FAIL-LOAD": ledger.StateFailed, "PROB-ATTR": ledger.StateNeedsAction, "PROB-NEW": ledger.StatePaid,
	}
	for id, s := range want {
		if rows[id].State != s {
			t.Errorf("%s: state %s (%s), want %s", id, rows[id].State, rows[id].LastError, s)
		}
	}
	for _, id := range []string{"PROB-KYC-LOAD", "PROB-KYC-PAY"} {
		if l := rows[id].KYCUploadLink; !strings.HasPrefix(l, "https://sandbox.masspay.example/kyc/upload/") {
			t.Errorf("%s: KYC link %q", id, l)
		}
	}
	if rows["PROB-KYC-LOAD"].KYCUploadLink == rows["PROB-KYC-PAY"].KYCUploadLink {
		t.Error("two held payees share one upload link")
	}
	if m := rows["PROB-MISSING"].LastError; !strings.Contains(m, "attr:BankRoutingNumber") || !strings.Contains(m, "Routing number") {
		t.Errorf("missing attribute message %q does not name the label and column", m)
	}
	if m := rows["PROB-FAIL-PAY"].LastError; !strings.Contains(m, "failure") {
		t.Errorf("failed commit message %q does not carry MassPay's status", m)
	}
	if m := rows["PROB-ATTR"].LastError; !strings.Contains(m, "addtl_attr_req") {
		t.Errorf("addtl_attr_req message %q", m)
	}
	// The new payee was looked up, not found, and created under its key.
	if rows["PROB-NEW"].UserToken == "" {
		t.Error("new payee has no user token")
	}
	created := false
	for _, ev := range g.events("PROB-NEW") {
		if ev.IdempotencyKey == ledger.UserKey("u-007") {
			created = true
		}
	}
	if !created {
		t.Error("no event records the creation of the new payee under user:<internal id>")
	}
	// Cached for next month.
	if tok, ok, err := g.led.UserToken(g.ctx, "u-007"); err != nil || !ok || tok != rows["PROB-NEW"].UserToken {
		t.Errorf("user cache: %q %v %v", tok, ok, err)
	}
}

func TestRunnerStopsCurrencyOnInsufficientFunds(t *testing.T) {
	g := newRig(t, rigOptions{sandbox: sandbox.Config{Balances: map[string]decimal.Decimal{
		"USD": decimal.RequireFromString("2500"), "BTC": decimal.NewFromInt(10)}}})
	var lines []sheetLine
	for i := 1; i <= 6; i++ {
		if i%2 == 0 {
			lines = append(lines, bankLine("NSF-"+string(rune('0'+i)), i, "700.00"))
		} else {
			lines = append(lines, loadLine("NSF-"+string(rune('0'+i)), i, "700.00"))
		}
	}
	runID := g.ingest(writeSheetCSV(t, g.dir, lines))
	g.run(runID, 1)
	rows := g.check(runID)
	// 700 + 700+1.50 + 700 = 2101.50 fits in 2500; the 4th does not, and
	// nothing after it starts.
	for i, l := range lines {
		r := rows[l.id]
		if i < 3 {
			if r.State != ledger.StateLoaded && r.State != ledger.StatePaid {
				t.Errorf("%s: %s (%s), want paid", l.id, r.State, r.LastError)
			}
			continue
		}
		if r.State != ledger.StateNeedsAction || !strings.Contains(r.LastError, "USD balance") {
			t.Errorf("%s: %s %q, want NEEDS_ACTION for funds", l.id, r.State, r.LastError)
		}
	}
	a := g.srv.Audit()
	for _, b := range a.Balances {
		if b.CurrencyCode == "USD" && !b.Balance.Equal(decimal.RequireFromString("398.50")) {
			t.Errorf("USD balance left %s, want 398.50", b.Balance)
		}
	}
}

func TestRunnerAdoptsPayoutAlreadyCommitted(t *testing.T) {
	g := newRig(t, rigOptions{})
	line := bankLine("ADOPT-1", 1, "210.00")
	other := bankLine("ADOPT-2", 2, "220.00")
	// Somebody (an earlier tool, a lost ledger) paid ADOPT-1 already, with
	// the same client_transfer_id, through MassPay directly.
	ctx := g.ctx
	user := must(g.api.CreateUser(ctx, "pre-user", masspay.User{Profile: masspay.Profile{InternalUserID: line.user, Country: "USA",
		FirstName: line.first, LastName: line.last, Email: line.email}}))(t)
	dst := must(g.api.BestRoutes(ctx, "USA", masspay.RouteParams{SourceCurrency: "USD", DestinationCurrency: "USD", OnlyGenericPayers: true}))(t)
	var route masspay.Route
	for _, rt := range dst.Routes() {
		if rt.DeliveryType == "BANK_DEPOSIT" {
			route = rt
		}
	}
	reqs := must(g.api.Attributes(ctx, user.UserToken, route.DestinationToken, "USD"))(t)
	var vals []masspay.AttrValue
	for _, r := range reqs {
		v := map[string]string{"BankAccountNumber": "12345678", "BankRoutingNumber": "021000021"}[r.Type]
		vals = append(vals, masspay.AttrValue{Token: r.Token, Value: v})
	}
	set := must(g.api.StoreAttributes(ctx, "pre-attrs", user.UserToken, route.DestinationToken, "USD", masspay.AttrTxn{Values: vals}))(t)
	bals := must(g.api.Balances(ctx))(t)
	var src string
	for _, b := range bals {
		if b.CurrencyCode == "USD" {
			src = b.Token
		}
	}
	amt := decimal.RequireFromString("210.00")
	q := must(g.api.InitiatePayout(ctx, "pre-init", user.UserToken, masspay.PayoutTxn{ClientTransferID: "ADOPT-1",
		SourceCurrencyCode: "USD", DestinationCurrencyCode: "USD", SourceToken: src, DestinationToken: route.DestinationToken,
		AttrSetToken: set.AttrSetToken, SourceAmount: &amt}))(t)
	must(g.api.CommitPayout(ctx, "pre-commit", user.UserToken, q.PayoutToken))(t)

	runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line, other}))
	g.run(runID, 2)
	rows := g.check(runID) // at most one committed payout per id
	r := rows["ADOPT-1"]
	if r.State != ledger.StatePaid || r.PayoutToken != q.PayoutToken {
		t.Fatalf("ADOPT-1: %s %s, want PAID by adopting %s", r.State, r.PayoutToken, q.PayoutToken)
	}
	adopted := false
	for _, ev := range g.events("ADOPT-1") {
		if strings.Contains(ev.Message, "adopted existing payout") {
			adopted = true
		}
	}
	if !adopted {
		t.Error("no event records the adoption")
	}
	n := 0
	for _, p := range g.srv.Audit().Payouts {
		if p.ClientTransferID == "ADOPT-1" && p.Committed {
			n++
		}
	}
	if n != 1 {
		t.Errorf("audit shows %d committed payouts for ADOPT-1, want 1", n)
	}
	if rows["ADOPT-2"].State != ledger.StatePaid {
		t.Errorf("ADOPT-2: %s", rows["ADOPT-2"].State)
	}
}

func TestRunnerFreshQuoteAfterExpiryOnResume(t *testing.T) {
	for _, tc := range []struct {
		name string
		// runnerAhead moves the runner's own clock too, so it sees the
		// quote lapsed before committing; otherwise MassPay tells it
		// (ex_rate_expired) at commit.
		runnerAhead bool
	}{{"commit answers ex_rate_expired", false}, {"runner sees the quote lapsed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			clock := sandbox.NewManualClock(time.Now().UTC())
			g := newRig(t, rigOptions{sandbox: sandbox.Config{Clock: clock}})
			runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{bankLine("EXP-1", 1, "310.00")}))

			// Drive the row to initiated through the runner's own steps, then stop.
			r := g.runner(1)
			r.defaults()
			if err := r.loadSources(g.ctx); err != nil {
				t.Fatal(err)
			}
			row := must(g.led.Row(g.ctx, "EXP-1"))(t)
			for row.State != ledger.StateInitiated {
				row = must(r.step(g.ctx, row))(t)
				if row.State.Final() {
					t.Fatalf("row ended %s before it was initiated: %s", row.State, row.LastError)
				}
			}
			first := row.PayoutToken

			clock.Advance(3 * time.Minute)
			if tc.runnerAhead {
				// The resumed process lives three minutes later too.
				later := func() time.Time { return time.Now().Add(3 * time.Minute) }
				g.reopenLedger(later)
			}
			r2 := g.runner(1)
			if tc.runnerAhead {
				r2.Clock = func() time.Time { return time.Now().Add(3 * time.Minute) }
			}
			if _, err := r2.Run(g.ctx, g.ctx, runID); err != nil {
				t.Fatal(err)
			}
			rows := g.check(runID)
			got := rows["EXP-1"]
			if got.State != ledger.StatePaid || got.QuoteSeq != 2 || got.PayoutToken == first {
				t.Fatalf("after resume: %s seq %d token %s (first %s)", got.State, got.QuoteSeq, got.PayoutToken, first)
			}
			keys := map[string]bool{}
			for _, ev := range g.events("EXP-1") {
				keys[ev.IdempotencyKey] = true
			}
			for _, k := range []string{"EXP-1", "EXP-1#commit", "EXP-1#2", "EXP-1#2#commit"} {
				if k == "EXP-1#commit" && tc.runnerAhead {
					continue // the lapsed quote was never sent to commit
				}
				if !keys[k] {
					t.Errorf("no event with Idempotency-Key %q (have %v)", k, keys)
				}
			}
			committed := 0
			for _, p := range g.srv.Audit().Payouts {
				if p.ClientTransferID == "EXP-1" && p.Committed {
					committed++
				}
			}
			if committed != 1 {
				t.Errorf("%d committed payouts for EXP-1, want 1", committed)
			}
		})
	}
}

func TestRunnerUnderFaultsPaysEachRowOnce(t *testing.T) {
	// The client's own retries are off, so every fault reaches the runner:
	// its handling of unknown outcomes is what is under test.
	g := newRig(t, rigOptions{maxRetries: -1, sandbox: sandbox.Config{Seed: 11, Faults: sandbox.Faults{
		ErrorRate: 0.1, LostResponseRate: 0.2, RateLimit: 300,
		Latency: time.Millisecond, LatencyJitter: 4 * time.Millisecond,
	}}})
	lines := mixedLines("FLT", 96)
	runID := g.ingest(writeSheetCSV(t, g.dir, lines))
	// Faults can leave a row whose outcome is still unknown after every
	// retry; the answer to that is the next run, which re-sends the same
	// key. Run until nothing is left, as an operator would.
	runs := 0
	for ; runs < 10; runs++ {
		if _, err := g.runner(8).Run(g.ctx, g.ctx, runID); err != nil {
			// With the client's retries off, the balance read that starts
			// every run fails one time in ten; the run then stops before
			// touching a row, and the operator runs again.
			if strings.HasPrefix(err.Error(), "fetch balances: ") {
				continue
			}
			t.Fatalf("run %d: %v", runs+1, err)
		}
		left := 0
		for range g.led.RowsToWork(g.ctx, runID) {
			left++
		}
		if left == 0 {
			break
		}
	}
	g.srv.SetFaults(sandbox.Faults{}) // the checks below read without faults
	rows := g.check(runID)
	c := countStates(rows)
	if c[ledger.StatePaid]+c[ledger.StateLoaded] != len(lines) {
		t.Errorf("states %v after %d runs, want every row paid", c, runs+1)
	}
	unknowns := 0
	for _, l := range lines {
		unknowns += checkKeysReused(t, l.id, l.user, g.events(l.id))
	}
	if unknowns == 0 {
		t.Error("no unknown outcome was recorded: the faults did not bite, so this test proved nothing")
	}
	t.Logf("%d runs, %d unknown outcomes recorded, %d requests", runs+1, unknowns, g.calls.count())
}

// checkKeysReused proves from a row's ledger events that an unknown outcome
// was only ever followed by the same Idempotency-Key, and that the row used
// no key but its own. It returns the number of unknown outcomes seen.
func checkKeysReused(t *testing.T, id, user string, evs []ledger.Event) int {
	t.Helper()
	allowed := map[string]bool{id: true, id + "#commit": true, ledger.UserKey(user): true}
	unknowns := 0
	pending := "" // key of the last unknown outcome, until settled
	for _, ev := range evs {
		if ev.IdempotencyKey == "" {
			continue
		}
		if !allowed[ev.IdempotencyKey] {
			t.Errorf("%s: event %d uses key %q (%s)", id, ev.Seq, ev.IdempotencyKey, ev.Message)
		}
		if strings.HasPrefix(ev.Message, "outcome unknown") {
			if pending != "" && pending != ev.IdempotencyKey {
				t.Errorf("%s: unknown outcome under %q, then another under %q", id, pending, ev.IdempotencyKey)
			}
			pending = ev.IdempotencyKey
			unknowns++
			continue
		}
		if pending != "" && ev.Kind == ledger.EventTransition {
			if ev.IdempotencyKey != pending {
				t.Errorf("%s: unknown outcome under %q settled by event %d under a new key %q (%s)",
					id, pending, ev.Seq, ev.IdempotencyKey, ev.Message)
			}
			pending = ""
		}
	}
	return unknowns
}
