package autopay

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/masspay"
)

// TestAutopayApplyTwiceThenLoadFires applies a rules sheet, applies it
// again (nothing changes, no write call), then loads a wallet and finds the
// sandbox's autopay payouts.
func TestAutopayApplyTwiceThenLoadFires(t *testing.T) {
	w := newAPWorld(t)
	u1 := w.payee("ap-1", "MEX", "", "10.00")
	u2 := w.payee("ap-2", "USA", "", "10.00")
	// A rule u2 already has and the sheet does not mention: reported, kept,
	// and counted in u2's total.
	tether := w.route("USA", "CRYPTOCURRENCY", "Tether USDT")
	if _, err := w.api.AddAutopayRule(w.ctx, "pre-1", u2, w.wallet(u2).Token,
		masspay.AutopayRuleTxn{DestinationToken: tether, Percentage: dec("10")}); err != nil {
		t.Fatal(err)
	}
	sheetName := writeFile(t, "rules.csv", []byte(strings.Join([]string{
		"Payee ID,Country,Delivery Type,Payer,Percentage,attr:BankAccountNumber,attr:BankRoutingNumber,Action",
		"ap-1,Mexico,bank deposit,,30,012345678901234567,,",
		"ap-1,MX,CASH_PICKUP,Elektra,20%,,,add",
		"ap-2,USA,BANK_DEPOSIT,,50,123456789,021000021,",
	}, "\n")))

	p1 := w.plan(sheetName)
	if p1.Problems.HasErrors() {
		t.Fatalf("plan problems: %v", p1.Problems)
	}
	if p1.Count(AutopayAdd) != 3 || p1.Count(AutopayNotInSheet) != 1 || p1.Pending() != 3 {
		t.Fatalf("first plan:\n%s", planText(t, p1))
	}
	if !strings.Contains(planText(t, p1), "not in sheet payee ap-2") {
		t.Errorf("plan does not report the rule that is not in the sheet:\n%s", planText(t, p1))
	}
	got, err := ApplyAutopay(w.ctx, w.api, w.ledger, p1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Added != 3 {
		t.Fatalf("applied %+v, want 3 added", got)
	}
	if n := len(w.rules(u1)); n != 2 {
		t.Fatalf("ap-1 has %d rules, want 2", n)
	}
	if n := len(w.rules(u2)); n != 2 {
		t.Fatalf("ap-2 has %d rules, want 2 (the kept one and the sheet's)", n)
	}
	if evs := w.autopayEvents(); len(evs) != 6 {
		t.Fatalf("%d autopay events, want 6 (intent and outcome of 3 adds)", len(evs))
	}

	// Second time: the same plan is all unchanged and applying sends nothing
	// that writes.
	w.calls.reset()
	p2 := w.plan(sheetName)
	if p2.Problems.HasErrors() || p2.Pending() != 0 || p2.Count(AutopayUnchanged) != 3 {
		t.Fatalf("second plan:\n%s\n%v", planText(t, p2), p2.Problems)
	}
	again, err := ApplyAutopay(w.ctx, w.api, w.ledger, p2)
	if err != nil {
		t.Fatal(err)
	}
	if again != (AutopayApplied{}) {
		t.Errorf("second apply changed %+v", again)
	}
	if n := w.calls.count(http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch); n != 0 {
		t.Errorf("second apply sent %d writing requests", n)
	}
	if n := len(w.rules(u1)) + len(w.rules(u2)); n != 4 {
		t.Errorf("%d rules after the second apply, want 4", n)
	}
	if evs := w.autopayEvents(); len(evs) != 6 {
		t.Errorf("%d autopay events after the second apply, want still 6", len(evs))
	}

	// A load into ap-1's wallet now fires both rules as committed payouts
	// from the wallet: 30% and 20% of 1000, each less its route's fee.
	w.load(u1, "ap-1-july", "1000.00")
	pays, err := w.api.Payouts(w.ctx, u1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"297.01": false, "196.01": false} // 300-2.99, 200-3.99
	for _, p := range pays {
		if p.Metadata["autopay_rule"] == nil {
			continue
		}
		if _, ok := want[p.SourceAmount.StringFixed(2)]; ok {
			want[p.SourceAmount.StringFixed(2)] = true
		}
	}
	for amt, seen := range want {
		if !seen {
			t.Errorf("no autopay payout of %s after the load; payouts: %+v", amt, pays)
		}
	}
	committed := 0
	for _, p := range w.srv.Audit().Payouts {
		if p.UserToken == u1 && p.Committed {
			committed++
		}
	}
	if committed != 2 {
		t.Errorf("audit shows %d committed payouts for ap-1, want 2", committed)
	}

	// Removing the kept rule: only that rule goes.
	rm := writeFile(t, "remove.csv", []byte("internal_user_id,destination_token,percentage,action\nap-2,"+tether+",,remove\n"))
	p3 := w.plan(rm)
	if p3.Problems.HasErrors() || p3.Count(AutopayRemove) != 1 || p3.Count(AutopayNotInSheet) != 1 {
		t.Fatalf("remove plan:\n%s\n%v", planText(t, p3), p3.Problems)
	}
	if got, err := ApplyAutopay(w.ctx, w.api, w.ledger, p3); err != nil || got.Removed != 1 {
		t.Fatalf("remove: %+v, %v", got, err)
	}
	rs := w.rules(u2)
	if len(rs) != 1 || rs[0].DestinationToken == tether {
		t.Errorf("after remove ap-2 has %+v", rs)
	}
	if p4 := w.plan(rm); p4.Count(AutopayAbsent) != 1 || p4.Pending() != 0 {
		t.Errorf("removing twice is not a no-op:\n%s", planText(t, p4))
	}
}

// TestAutopayOver100RefusedBeforeAnyCall: percentages over 100, alone or
// added up per wallet, stop the sheet before a single request.
func TestAutopayOver100RefusedBeforeAnyCall(t *testing.T) {
	w := newAPWorld(t)
	w.calls.reset()
	sheetName := writeFile(t, "over.csv", []byte(strings.Join([]string{
		"internal_user_id,country,delivery_type,percentage",
		"a,MEX,BANK_DEPOSIT,150",
		"b,MEX,BANK_DEPOSIT,60",
		"b,MEX,CASH_PICKUP,50",
		"c,MEX,BANK_DEPOSIT,0",
		"c,MEX,CASH_PICKUP,-5",
	}, "\n")))
	p := w.plan(sheetName)
	rules := problemRules(p.Problems)
	if rules["bad_percentage"] != 3 || rules["total_over_100"] != 1 {
		t.Fatalf("problems %v", p.Problems)
	}
	for _, pr := range p.Problems {
		if pr.Line == 0 || pr.Column == "" || pr.Message == "" {
			t.Errorf("problem not located: %+v", pr)
		}
	}
	if _, err := ApplyAutopay(w.ctx, w.api, w.ledger, p); !errors.Is(err, ErrPlanRefused) {
		t.Errorf("apply of a refused plan: %v", err)
	}
	if n := w.calls.count(); n != 0 {
		t.Errorf("%d requests sent for a sheet over 100%%", n)
	}
}

// TestAutopayTotalCountsKeptRules: rules already in MassPay that the sheet
// keeps count toward the 100%; the plan is refused with no write.
func TestAutopayTotalCountsKeptRules(t *testing.T) {
	w := newAPWorld(t)
	u := w.payee("keep-1", "MEX", "", "5.00")
	if _, err := w.api.AddAutopayRule(w.ctx, "pre", u, w.wallet(u).Token,
		masspay.AutopayRuleTxn{DestinationToken: w.route("MEX", "CASH_PICKUP", "Elektra"), Percentage: dec("60")}); err != nil {
		t.Fatal(err)
	}
	sheetName := writeFile(t, "keep.csv", []byte("internal_user_id,country,delivery_type,percentage,attr:BankAccountNumber\n"+
		"keep-1,MEX,BANK_DEPOSIT,50,012345678901234567\nnobody,MEX,BANK_DEPOSIT,10,012345678901234567\n"))
	w.calls.reset()
	p := w.plan(sheetName)
	rules := problemRules(p.Problems)
	if rules["total_over_100"] != 1 || rules["unknown_payee"] != 1 {
		t.Fatalf("problems %v", p.Problems)
	}
	if _, err := ApplyAutopay(w.ctx, w.api, w.ledger, p); !errors.Is(err, ErrPlanRefused) {
		t.Fatalf("apply: %v", err)
	}
	if n := w.calls.count(http.MethodPost, http.MethodDelete); n != 0 {
		t.Errorf("%d writing requests for a refused plan", n)
	}
}

// TestAutopayReplaceAndMissingDetails: a new percentage for an existing
// route replaces the rule; a route whose payee details are missing is a
// problem of the plan.
func TestAutopayReplaceAndMissingDetails(t *testing.T) {
	w := newAPWorld(t)
	u := w.payee("rep-1", "PHL", "", "5.00")
	gcash := w.route("PHL", "MOBILE_WALLET", "GCash")
	if _, err := w.api.AddAutopayRule(w.ctx, "pre", u, w.wallet(u).Token,
		masspay.AutopayRuleTxn{DestinationToken: gcash, Percentage: dec("10")}); err != nil {
		t.Fatal(err)
	}
	sheetName := writeFile(t, "rep.csv", []byte("internal_user_id,destination_token,percentage,attr:PhoneNumber\nrep-1,"+gcash+",25,+639171234567\n"))
	p := w.plan(sheetName)
	if p.Problems.HasErrors() || p.Count(AutopayReplace) != 1 {
		t.Fatalf("plan:\n%s\n%v", planText(t, p), p.Problems)
	}
	if got, err := ApplyAutopay(w.ctx, w.api, w.ledger, p); err != nil || got.Replaced != 1 {
		t.Fatalf("apply %+v %v", got, err)
	}
	rs := w.rules(u)
	if len(rs) != 1 || !rs[0].Percentage.Equal(dec("25")) || rs[0].AttrSetToken == "" {
		t.Errorf("rules after replace: %+v", rs)
	}

	bad := writeFile(t, "bad.csv", []byte("internal_user_id,country,delivery_type,percentage\nrep-1,GBR,BANK_DEPOSIT,5\n"))
	pb := w.plan(bad)
	if problemRules(pb.Problems)["missing_details"] != 1 {
		t.Errorf("problems %v", pb.Problems)
	}
}

// TestEnsureAutopayRuleIdempotent is the runner's hook: the first call adds
// the rule, the second does nothing at all.
func TestEnsureAutopayRuleIdempotent(t *testing.T) {
	w := newAPWorld(t)
	u := w.payee("ens-1", "MEX", "", "")
	resp := w.load(u, "2026-07-ens-1", "100.00")
	pct := dec("25")
	row := sheet.Row{Line: 2, ClientTransferID: "2026-07-ens-1", InternalUserID: "ens-1", Country: "MEX", SourceCurrency: "USD",
		Method: sheet.MethodLoad, Amount: dec("100.00"), AutopayPercentage: &pct, Attrs: map[string]string{"BankAccountNumber": "012345678901234567"}}
	if err := EnsureAutopayRule(w.ctx, w.api, w.ledger, u, row, resp.WalletToken); err != nil {
		t.Fatal(err)
	}
	w.calls.reset()
	if err := EnsureAutopayRule(w.ctx, w.api, w.ledger, u, row, resp.WalletToken); err != nil {
		t.Fatal(err)
	}
	if n := w.calls.count(http.MethodPost, http.MethodDelete); n != 0 {
		t.Errorf("second EnsureAutopayRule sent %d writing requests", n)
	}
	rs := w.rules(u)
	if len(rs) != 1 || !rs[0].Percentage.Equal(pct) {
		t.Fatalf("rules %+v", rs)
	}
	evs := w.autopayEvents()
	if len(evs) != 2 || evs[1].TransferID != row.ClientTransferID || evs[1].IdempotencyKey != "2026-07-ens-1#autopay" {
		t.Errorf("events %+v", evs)
	}

	other := dec("30")
	row2 := row
	row2.AutopayPercentage = &other
	if err := EnsureAutopayRule(w.ctx, w.api, w.ledger, u, row2, ""); !errors.Is(err, ErrAutopayRuleDiffers) {
		t.Errorf("differing percentage: %v", err)
	}
	big := dec("80")
	row3 := row
	row3.ClientTransferID, row3.DeliveryType, row3.PayerName, row3.AutopayPercentage = "2026-07-ens-1b", "CASH_PICKUP", "Elektra", &big
	if err := EnsureAutopayRule(w.ctx, w.api, w.ledger, u, row3, ""); !errors.Is(err, ErrAutopayTotal) {
		t.Errorf("total over 100: %v", err)
	}
	over := dec("101")
	row4 := row
	row4.AutopayPercentage = &over
	w.calls.reset()
	if err := EnsureAutopayRule(w.ctx, w.api, w.ledger, u, row4, ""); !errors.Is(err, ErrAutopayPercentage) || w.calls.count() != 0 {
		t.Errorf("101%%: %v after %d requests", err, w.calls.count())
	}
	row5 := row
	row5.AutopayPercentage = nil
	if err := EnsureAutopayRule(w.ctx, w.api, w.ledger, u, row5, ""); err != nil || w.calls.count() != 0 {
		t.Errorf("no autopay_percentage: %v after %d requests", err, w.calls.count())
	}
}

// TestAutopayListRoundTrip exports the rules and applies the export back:
// nothing changes.
func TestAutopayListRoundTrip(t *testing.T) {
	w := newAPWorld(t)
	u := w.payee("rt-1", "MEX", "", "5.00")
	w.payee("rt-2", "MEX", "", "")
	if _, err := w.api.AddAutopayRule(w.ctx, "pre", u, w.wallet(u).Token,
		masspay.AutopayRuleTxn{DestinationToken: w.route("MEX", "CASH_PICKUP", "Elektra"), Percentage: dec("12.5")}); err != nil {
		t.Fatal(err)
	}
	payees, err := exports.ResolvePayees(w.ctx, w.api, w.ledger, []string{"rt-1", "rt-2", "ghost", "rt-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(payees) != 3 || payees[2].UserToken != "" {
		t.Fatalf("payees %+v", payees)
	}
	ls, err := ListAutopayRules(w.ctx, w.api, payees)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 || ls[0].PayerName != "Elektra" || ls[0].Country != "MEX" || ls[1].Note == "" || ls[2].Note == "" {
		t.Fatalf("listings %+v", ls)
	}
	for _, ext := range []string{"csv", "xlsx"} {
		out := filepath.Join(t.TempDir(), "rules."+ext)
		if _, err := WriteAutopayRules(out, ls[:1]); err != nil {
			t.Fatal(err)
		}
		p := w.plan(out)
		if p.Problems.HasErrors() || p.Count(AutopayUnchanged) != 1 || p.Pending() != 0 {
			t.Errorf("%s: re-applying the export:\n%s\n%v", ext, planText(t, p), p.Problems)
		}
	}
}

// TestReadAutopaySheetXLSX reads numbers, aliases, a title row and the
// defaults from a real workbook.
func TestReadAutopaySheetXLSX(t *testing.T) {
	f := excelize.NewFile()
	rows := [][]any{
		{"Autopay rules, July"},
		{"User ID", "Wallet Currency", "Pct", "Route Token", "Notes"},
		{"x-1", "", 12.5, "dst_abc", "ignored"},
		{"x-2", "eur", 0.1 + 0.2, "dst_def", ""},
		{},
		{"x-3", "USD", "33,3", "dst_ghi", ""},
	}
	for i, r := range rows {
		if err := f.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "rules.xlsx")
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	s, err := ReadAutopaySheet(path, ingest.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rows) != 3 {
		t.Fatalf("%d rows", len(s.Rows))
	}
	want := []struct {
		line     int
		cur, pct string
	}{{3, "USD", "12.5"}, {4, "EUR", "0.3"}, {6, "USD", "33.3"}}
	for i, wnt := range want {
		r := s.Rows[i]
		if r.Line != wnt.line || r.WalletCurrency != wnt.cur || r.Percentage.String() != wnt.pct || r.Action != AutopayActionAdd {
			t.Errorf("row %d: %+v", i, r)
		}
	}
	if ps := ValidateAutopaySheet(s); len(ps) != 0 {
		t.Errorf("problems %v", ps)
	}
	if _, err := ReadAutopaySheet(writeFile(t, "x.csv", []byte("a,b,c\n1,2,3\n")), ingest.IngestOptions{}); !errors.Is(err, ingest.ErrNoHeader) {
		t.Errorf("sheet without header: %v", err)
	}
	missing := writeFile(t, "m.csv", []byte("internal_user_id,country,action\nx,MEX,drop\n"))
	s2, err := ReadAutopaySheet(missing, ingest.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := problemRules(ValidateAutopaySheet(s2))
	if got["missing_column"] != 1 || got["bad_action"] != 1 || got["required"] != 1 {
		t.Errorf("problems %v", got)
	}
}

func planText(t *testing.T, p *AutopayPlan) string {
	t.Helper()
	var b strings.Builder
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var _ = decimal.Zero

// TestAutopaySample applies samples/autopay-rules.csv to sandbox payees
// created under its ids: clean, and a no-op the second time.
func TestAutopaySample(t *testing.T) {
	w := newAPWorld(t)
	for _, p := range [][2]string{{"fl-mex-002", "MEX"}, {"fl-bra-014", "BRA"}, {"fl-usa-001", "USA"}} {
		w.payee(p[0], p[1], "", "10.00")
	}
	sample := filepath.Join("..", "..", "samples", "autopay-rules.csv")
	p := w.plan(sample)
	if p.Problems.HasErrors() || p.Count(AutopayAdd) != 4 || p.Count(AutopayAbsent) != 1 {
		t.Fatalf("sample plan:\n%s\n%v", planText(t, p), p.Problems)
	}
	if _, err := ApplyAutopay(w.ctx, w.api, w.ledger, p); err != nil {
		t.Fatal(err)
	}
	if p2 := w.plan(sample); p2.Pending() != 0 || p2.Count(AutopayUnchanged) != 4 {
		t.Errorf("sample applied twice:\n%s", planText(t, p2))
	}
}
