package batch

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// The payee route cache (step_route_cache.go), against the real sandbox
// over loopback and a real ledger file; calls are counted by the sandbox.

// bankMonth is n USD bank payouts to payees 1..n under ids prefix-i.
func bankMonth(prefix string, n int) []sheetLine {
	out := make([]sheetLine, n)
	for i := range out {
		out[i] = bankLine(fmt.Sprintf("%s-%03d", prefix, i+1), i+1, fmt.Sprintf("%d.%02d", 100+i, 20+i%50))
	}
	return out
}

// payMonth runs lines as a new run with fresh sandbox counters and returns
// the run and the requests MassPay was sent (less the run's balance fetch).
func (g *rig) payMonth(lines []sheetLine) (int64, map[string]int64) {
	g.t.Helper()
	runID := g.ingest(writeSheetCSV(g.t, g.dir, lines))
	g.srv.ResetRequests()
	g.run(runID, 4)
	calls := g.srv.ResetRequests()
	calls["GET /account/balance"]--
	if calls["GET /account/balance"] == 0 {
		delete(calls, "GET /account/balance")
	}
	return runID, calls
}

func total(calls map[string]int64) int64 {
	var n int64
	for _, v := range calls {
		n += v
	}
	return n
}

// monthsAgree checks MassPay's audit against the rows of every run so far
// (checkAgreement) and returns run runID's rows.
func (g *rig) monthsAgree(runID int64) map[string]ledger.Row {
	g.t.Helper()
	checkAgreement(g.t, g.srv.Audit(), g.rows(0))
	return g.rows(runID)
}

// wantStates fails the test unless every row of runID ended in state.
func (g *rig) wantStates(runID int64, state ledger.State) map[string]ledger.Row {
	g.t.Helper()
	rows := g.monthsAgree(runID)
	for id, r := range rows {
		if r.State != state {
			g.t.Errorf("row %s: %s (%s), want %s", id, r.State, r.LastError, state)
		}
	}
	return rows
}

const (
	callRoute     = "GET /country/{}/best"
	callAttrsGet  = "GET /attribute/{}/{}/{}"
	callAttrStore = "POST /attribute/{}/{}/{}"
	callInit      = "POST /{}"
	callCommitReq = "PUT /{}/{}"
)

// TestMonthTwoBankPayoutsUseCachedRoute: next month's payouts to the same
// payees with the same bank details cost an initiate and a commit each, no
// route, attribute read or attribute store (4 calls a row before the cache:
// route, attribute read, initiate, commit).
func TestMonthTwoBankPayoutsUseCachedRoute(t *testing.T) {
	g := newRig(t, rigOptions{})
	const n = 6
	run1, calls1 := g.payMonth(bankMonth("M1", n))
	g.wantStates(run1, ledger.StatePaid)
	// A new payee: one look-up by internal_user_id, then the create (the
	// email is looked up only when MassPay refuses the create for it).
	if calls1[callAttrStore] != n || calls1["GET /user/lookup"] != n || calls1["POST /user"] != n || total(calls1) != 7*n {
		t.Errorf("month one: %v, want 7 calls a row", calls1)
	}
	run2, calls2 := g.payMonth(bankMonth("M2", n))
	g.wantStates(run2, ledger.StatePaid)
	want := map[string]int64{callInit: n, callCommitReq: n}
	if total(calls2) != 2*n || calls2[callInit] != n || calls2[callCommitReq] != n {
		t.Errorf("month two calls %v (%.1f a row), want %v", calls2, float64(total(calls2))/n, want)
	}
}

// TestChangedBankAccountTakesFullPath: a payee whose bank account changed
// is paid through the full path (route, attributes read and stored) to the
// new account, and the cache then holds the new details, so month three is
// back to two calls.
func TestChangedBankAccountTakesFullPath(t *testing.T) {
	g := newRig(t, rigOptions{})
	const n = 3
	g.payMonth(bankMonth("M1", n))
	m2 := bankMonth("M2", n)
	m2[0].account = "87654321"
	run2, calls2 := g.payMonth(m2)
	g.wantStates(run2, ledger.StatePaid)
	if calls2[callRoute] != 1 || calls2[callAttrsGet] != 1 || calls2[callAttrStore] != 1 || total(calls2) != 2*n+3 {
		t.Errorf("month two with one changed account: %v", calls2)
	}
	row := g.rows(run2)[m2[0].id]
	reqs, err := g.api.Attributes(g.ctx, row.UserToken, row.DestinationToken, "USD")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reqs {
		if r.Type == "BankAccountNumber" && r.Value != "87654321" {
			t.Errorf("MassPay holds account %q, want the new one", r.Value)
		}
		if r.AttrSetToken != row.AttrSetToken {
			t.Errorf("row paid with attribute set %s, MassPay's is %s", row.AttrSetToken, r.AttrSetToken)
		}
	}
	data, err := rowData(row)
	if err != nil {
		t.Fatal(err)
	}
	pr, ok, err := g.led.PayeeRoute(g.ctx, routeKey(data))
	if err != nil || !ok || pr.Fingerprint != detailsFingerprint(data) || pr.AttrSetToken != row.AttrSetToken {
		t.Errorf("cache after the change: %+v %v %v", pr, ok, err)
	}
	m3 := bankMonth("M3", n)
	m3[0].account = "87654321"
	run3, calls3 := g.payMonth(m3)
	g.wantStates(run3, ledger.StatePaid)
	if total(calls3) != 2*n {
		t.Errorf("month three: %v", calls3)
	}
}

// TestRevokedCachedTokenFallsBackOnce: MassPay no longer knows the cached
// attribute set (the sandbox revoked it). The initiate is refused (400
// unknown_attr_set); the row takes the full path once, under <id>#2, and is
// paid exactly once. Only that row pays the extra calls, and the cache is
// refreshed with the new set.
func TestRevokedCachedTokenFallsBackOnce(t *testing.T) {
	g := newRig(t, rigOptions{})
	const n = 3
	run1, _ := g.payMonth(bankMonth("M1", n))
	first := g.rows(run1)[fmt.Sprintf("M1-%03d", 1)]
	if k, err := g.srv.RevokeAttributes(first.UserToken); err != nil || k != 1 {
		t.Fatalf("revoke: %d %v", k, err)
	}
	m2 := bankMonth("M2", n)
	run2, calls2 := g.payMonth(m2)
	rows := g.wantStates(run2, ledger.StatePaid)
	if calls2[callInit] != n+1 || calls2[callRoute] != 1 || calls2[callAttrsGet] != 1 || calls2[callAttrStore] != 1 ||
		calls2[callCommitReq] != n || total(calls2) != 2*n+4 {
		t.Errorf("month two after the revoke: %v", calls2)
	}
	row := rows[m2[0].id]
	if row.QuoteSeq != 2 || row.AttrSetToken == first.AttrSetToken {
		t.Errorf("fallen-back row: quote %d, attribute set %s (revoked %s)", row.QuoteSeq, row.AttrSetToken, first.AttrSetToken)
	}
	for _, key := range []string{row.ID, row.ID + "#2"} {
		if _, err := g.led.Request(g.ctx, row.ID, key); err != nil {
			t.Errorf("request %s not recorded: %v", key, err)
		}
	}
	fellBack := 0
	for ev, err := range g.led.Events(g.ctx, ledger.EventFilter{TransferID: row.ID}) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(ev.Message, msgCacheFallback) {
			fellBack++
		}
	}
	if fellBack != 1 {
		t.Errorf("%d fallback events, want 1", fellBack)
	}
	committed := 0
	for _, p := range g.srv.Audit().Payouts {
		if p.ClientTransferID == row.ID && p.Committed {
			committed++
		}
	}
	if committed != 1 {
		t.Errorf("%s committed %d times", row.ID, committed)
	}
	data, _ := rowData(row)
	if pr, ok, _ := g.led.PayeeRoute(g.ctx, routeKey(data)); !ok || pr.AttrSetToken != row.AttrSetToken {
		t.Errorf("cache not refreshed: %+v", pr)
	}
}

// TestCachedRouteRefusalIsFailedOnlyOnFullPath: a commit refused on the
// cached path (failure, sandbox cents .13; addtl_attr_req, cents .14) is
// first retried through the full path; the row ends FAILED (or
// NEEDS_ACTION) only when the full path is refused too, and nothing is paid.
func TestCachedRouteRefusalIsFailedOnlyOnFullPath(t *testing.T) {
	g := newRig(t, rigOptions{})
	g.payMonth(bankMonth("M1", 2))
	m2 := bankMonth("M2", 2)
	m2[0].amount = "120.13"
	m2[1].amount = "121.14"
	run2, calls2 := g.payMonth(m2)
	rows := g.monthsAgree(run2)
	if r := rows[m2[0].id]; r.State != ledger.StateFailed || r.QuoteSeq != 2 {
		t.Errorf("commit failure: %s quote %d (%s), want FAILED after the full path", r.State, r.QuoteSeq, r.LastError)
	}
	if r := rows[m2[1].id]; r.State != ledger.StateNeedsAction || r.QuoteSeq != 2 {
		t.Errorf("addtl_attr_req: %s quote %d (%s), want NEEDS_ACTION after the full path", r.State, r.QuoteSeq, r.LastError)
	}
	if calls2[callInit] != 4 || calls2[callRoute] != 2 {
		t.Errorf("calls: %v", calls2)
	}
	for _, p := range g.srv.Audit().Payouts {
		if p.Committed && strings.HasPrefix(p.ClientTransferID, "M2-") {
			t.Errorf("%s committed", p.ClientTransferID)
		}
	}
}

// TestRunSharesServiceLookups: rows naming their destination_token ask
// MassPay about that destination once a run (GET /service/{token} names no
// payee and no amount), while the route query, tailored to the payee and
// priced for the amount, stays one per payee.
func TestRunSharesServiceLookups(t *testing.T) {
	g := newRig(t, rigOptions{})
	cs, err := g.api.PreferredRoutes(g.ctx, "USA", masspay.RouteParams{SourceCurrency: "USD", DestinationCurrency: "USD", OnlyGenericPayers: true})
	if err != nil || len(cs.Routes()) == 0 {
		t.Fatalf("routes: %v %v", cs, err)
	}
	dst := cs.Routes()[0].DestinationToken
	var b strings.Builder
	b.WriteString("client_transfer_id,internal_user_id,first_name,last_name,email,country,method,amount,destination_currency,destination_token,attr:BankAccountNumber,attr:BankRoutingNumber\n")
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&b, "S-%d,su-%d,Sam,Svc%d,sam.svc%d@example.com,USA,payout,%d.20,USD,%s,12345678,021000021\n", i, i, i, i, 100+i, dst)
	}
	runID := g.ingest(writeFile(t, "svc.csv", []byte(b.String())))
	g.srv.ResetRequests()
	g.run(runID, 4)
	calls := g.srv.ResetRequests()
	g.wantStates(runID, ledger.StatePaid)
	if calls["GET /service/{}"] != 1 || calls[callRoute] != 0 {
		t.Errorf("calls: %v, want one GET /service/{} for the run", calls)
	}
}

// TestCachedRefusalAfterLostAnswerFallsBackOncePaysOnce: the cached
// initiate's first answer is lost (MassPay refused it, the runner sees a
// 504), so its refusal on the re-send cannot be taken at its word until
// MassPay is asked; the row is never FAILED, falls back once, and the
// fallback's commit answer is lost too: the same key is sent again and the
// payee is paid exactly once.
func TestCachedRefusalAfterLostAnswerFallsBackOncePaysOnce(t *testing.T) {
	g, p := newHostileRig(t, rigOptions{})
	run1, _ := g.payMonth(bankMonth("M1", 2))
	first := g.rows(run1)["M1-001"]
	if _, err := g.srv.RevokeAttributes(first.UserToken); err != nil {
		t.Fatal(err)
	}
	lost := map[string]bool{}
	p.setRule(func(r *http.Request, body []byte, forward func() proxied) (proxied, bool) {
		key := r.Header.Get("Idempotency-Key")
		if (key == "M2-001" || key == "M2-001#2#commit") && !lost[key] {
			lost[key] = true
			forward()
			return proxied{504, `{"title":"Gateway Timeout","message":"upstream timed out","code":504}`}, true
		}
		return proxied{}, false
	})
	run2, _ := g.payMonth(bankMonth("M2", 2))
	rows := g.wantStates(run2, ledger.StatePaid)
	if len(lost) != 2 {
		t.Fatalf("answers lost: %v", lost)
	}
	row := rows["M2-001"]
	if row.QuoteSeq != 2 {
		t.Errorf("M2-001 quote %d, want 2 (one fallback)", row.QuoteSeq)
	}
	if got := committedFor(g.srv.Audit(), "M2-001"); len(got) != 1 {
		t.Errorf("M2-001 committed %d times", len(got))
	}
}

// writeFile writes content to a new file named name in a temporary folder.
func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
