package sandbox

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// TestGuideFlow walks the whole integration guide over real HTTP.
func TestGuideFlow(t *testing.T) {
	h := start(t, nil)

	var bals []masspay.AvailableBalance
	h.call(200, "GET", "/account/balance", nil, &bals)
	if len(bals) != 5 {
		t.Fatalf("balances: %+v", bals)
	}
	usd := h.sourceToken("USD")
	if !strings.HasPrefix(usd, "clnt_wlt_") || !h.balance("USD").Equal(dec("1000000")) {
		t.Fatalf("USD balance token %q amount %s", usd, h.balance("USD"))
	}

	h.call(404, "GET", "/user/lookup?internal_user_id=emp-1", nil, nil)
	u := h.createUser("grace@example.com", func(u *masspay.User) { u.InternalUserID = "emp-1"; u.FirstName = "Grace" })
	if !strings.HasPrefix(u.UserToken, "usr_") || u.Status != masspay.UserActive || u.CreatedOn == "" {
		t.Fatalf("created user: %+v", u)
	}
	var found masspay.FoundUser
	h.call(200, "GET", "/user/lookup?internal_user_id=emp-1", nil, &found)
	if found.UserToken != u.UserToken {
		t.Fatalf("lookup by id: %+v", found)
	}
	h.call(200, "GET", "/user/lookup?email=GRACE@example.com&first_name=grace", nil, &found)
	if found.UserToken != u.UserToken {
		t.Fatalf("lookup by email: %+v", found)
	}
	h.call(404, "GET", "/user/lookup?email=grace@example.com&first_name=Someone", nil, nil)
	// Email is unique.
	st, b := h.do("POST", "/user", masspay.User{Profile: masspay.Profile{InternalUserID: "emp-2", Country: "USA", FirstName: "G", LastName: "H", Email: "grace@example.com"}})
	if st != 409 || !strings.Contains(string(b), "email") {
		t.Fatalf("duplicate email: %d %s", st, b)
	}

	var cs masspay.CountryServices
	h.call(200, "GET", "/country/USA/best?only_generic_payers=true&amount=200&include_payer_logos=false", nil, &cs)
	routes := cs.Routes()
	if routes[0].PayerName != "Bank Deposit" || routes[0].DeliveryType != "BANK_DEPOSIT" || !routes[0].Fee.Equal(dec("1.5")) {
		t.Fatalf("best USA route: %+v", routes[0])
	}
	dst := routes[0].DestinationToken

	var reqs []masspay.AttrsRequirement
	h.call(200, "GET", "/attribute/"+u.UserToken+"/"+dst+"/USD", nil, &reqs)
	if len(reqs) != 2 || reqs[0].Type != "BankAccountNumber" || reqs[1].Type != "BankRoutingNumber" || reqs[0].Validation == "" {
		t.Fatalf("attributes: %+v", reqs)
	}
	// A value that fails its regex is refused, naming the attribute.
	st, b = h.do("POST", "/attribute/"+u.UserToken+"/"+dst+"/USD", masspay.AttrTxn{Values: []masspay.AttrValue{{Token: reqs[1].Token, Value: "12"}}})
	if e := errBody(t, b); st != 400 || e.Error == nil || e.Error.Details[0] != "BankRoutingNumber" {
		t.Fatalf("bad attribute: %d %s", st, b)
	}
	var set masspay.AttrTxnResp
	h.call(200, "POST", "/attribute/"+u.UserToken+"/"+dst+"/USD", masspay.AttrTxn{Values: []masspay.AttrValue{
		{Token: reqs[0].Token, Value: "000123456789"}, {Token: reqs[1].Token, Value: "021000021"}}}, &set)
	if !strings.HasPrefix(set.AttrSetToken, "attr_set_") {
		t.Fatalf("attr set: %+v", set)
	}
	h.call(200, "GET", "/attribute/"+u.UserToken+"/"+dst+"/USD", nil, &reqs)
	if reqs[0].Value != "000123456789" || reqs[1].Value != "021000021" || reqs[0].AttrSetToken != set.AttrSetToken {
		t.Fatalf("stored attributes: %+v", reqs)
	}

	amt := dec("250.00")
	var p masspay.PayoutTxnResp
	h.call(200, "POST", "/"+u.UserToken, masspay.PayoutTxn{ClientTransferID: "ct-1", DestinationCurrencyCode: "USD",
		SourceToken: usd, DestinationToken: dst, SourceAmount: &amt, AttrSetToken: set.AttrSetToken}, &p, "Idempotency-Key", "ct-1")
	if !strings.HasPrefix(p.PayoutToken, "payout_") || !p.Fee.Equal(dec("1.5")) || !p.DestinationAmount.Equal(amt) || p.Expiration == "" {
		t.Fatalf("initiate: %+v", p)
	}
	c := h.commit(u.UserToken, p.PayoutToken, "Idempotency-Key", "ct-1#commit")
	if c.Status != masspay.CommitSuccess {
		t.Fatalf("commit: %+v", c)
	}
	if got := h.balance("USD"); !got.Equal(dec("999748.5")) {
		t.Fatalf("USD after payout: %s, want 999748.5", got)
	}
	if s := h.status(u.UserToken, p.PayoutToken); s.Status != masspay.StatusPending {
		t.Fatalf("status: %+v", s)
	}

	var ld masspay.LoadTxnResp
	h.call(200, "POST", "/load/"+u.UserToken, masspay.LoadTxn{ClientLoadID: "ld-1", SourceToken: usd, Amount: dec("100")}, &ld, "Idempotency-Key", "ld-1")
	if !strings.HasPrefix(ld.LoadToken, "ld_") || ld.Status != masspay.LoadCompleted || !strings.HasPrefix(ld.WalletToken, "usr_wlt_") {
		t.Fatalf("load: %+v", ld)
	}
	var wallets []masspay.Wallet
	h.call(200, "GET", "/wallet/"+u.UserToken, nil, &wallets)
	if len(wallets) != 1 || !wallets[0].Balance.Equal(dec("100")) || wallets[0].Type != masspay.WalletUserFunds {
		t.Fatalf("wallets: %+v", wallets)
	}

	// Autopay: 50% of every load to the bank route.
	rulePath := "/wallet/" + u.UserToken + "/" + ld.WalletToken + "/autopayout"
	var rule masspay.AutopayRule
	h.call(200, "POST", rulePath, masspay.AutopayRuleTxn{DestinationToken: dst, Percentage: dec("50")}, &rule)
	if !strings.HasPrefix(rule.Token, "apr_") {
		t.Fatalf("rule: %+v", rule)
	}
	h.call(400, "POST", rulePath, masspay.AutopayRuleTxn{DestinationToken: dst, Percentage: dec("60")}, nil)
	var rules []masspay.AutopayRule
	h.call(200, "GET", rulePath, nil, &rules)
	if len(rules) != 1 || rules[0].Token != rule.Token {
		t.Fatalf("rules: %+v", rules)
	}
	h.call(200, "POST", "/load/"+u.UserToken, masspay.LoadTxn{ClientLoadID: "ld-2", SourceToken: usd, Amount: dec("40")}, nil)
	a := h.audit()
	var auto *AuditPayout
	for i := range a.Payouts {
		if a.Payouts[i].PayoutToken != p.PayoutToken {
			auto = &a.Payouts[i]
		}
	}
	// 50% of 40 = 20, fee 1.50 taken out of the share.
	if auto == nil || !auto.Committed || auto.UserToken != u.UserToken || !auto.SourceAmount.Equal(dec("18.5")) || !auto.Fee.Equal(dec("1.5")) {
		t.Fatalf("autopay payout: %+v", a.Payouts)
	}
	h.call(200, "GET", "/wallet/"+u.UserToken, nil, &wallets)
	if !wallets[0].Balance.Equal(dec("120")) {
		t.Fatalf("wallet after autopay: %s, want 120", wallets[0].Balance)
	}
	h.call(200, "DELETE", rulePath+"?token="+rule.Token, nil, &rules)
	if len(rules) != 0 {
		t.Fatalf("rules after delete: %+v", rules)
	}
	h.call(404, "DELETE", rulePath+"?token="+rule.Token, nil, nil)
	h.call(200, "POST", "/load/"+u.UserToken, masspay.LoadTxn{ClientLoadID: "ld-3", SourceToken: usd, Amount: dec("10")}, nil)
	if n := len(h.audit().Payouts); n != 2 {
		t.Fatalf("a deleted rule still fired: %d payouts", n)
	}

	var hist []masspay.TxnHistory
	h.call(200, "GET", "/user/"+u.UserToken+"/history?number_of_records=10&page=1&show_all_clients=false", nil, &hist)
	if len(hist) != 5 { // 1 payout, 3 loads, 1 autopay payout
		t.Fatalf("history: %d rows %+v", len(hist), hist)
	}
	h.call(200, "GET", "/user/"+u.UserToken+"/history?type=payout", nil, &hist)
	if len(hist) != 2 || hist[0].ClientTransferID != "ct-1" {
		t.Fatalf("payout history: %+v", hist)
	}
	h.call(200, "GET", "/user/history?number_of_records=2&page=2", nil, &hist)
	if len(hist) != 2 {
		t.Fatalf("all-users history page 2: %+v", hist)
	}
	h.call(200, "GET", "/user/history?number_of_records=2&page=3", nil, &hist)
	if len(hist) != 1 {
		t.Fatalf("all-users history page 3: %+v", hist)
	}
	var payouts []masspay.PayoutTxnResp
	h.call(200, "GET", "/"+u.UserToken, nil, &payouts)
	if len(payouts) != 2 {
		t.Fatalf("payouts of user: %+v", payouts)
	}
	var loads []masspay.Load
	h.call(200, "GET", "/load/"+u.UserToken, nil, &loads)
	if len(loads) != 3 || loads[0].ClientLoadID != "ld-1" {
		t.Fatalf("loads: %+v", loads)
	}

	// The statement is the SDK's {content}: a PDF, one line per movement.
	var stmt masspay.PDFConfirmation
	h.call(200, "GET", "/account/statement?start_date=2025-03-01&ending_date=2025-03-10", nil, &stmt)
	doc, err := base64.StdEncoding.DecodeString(stmt.Content)
	if err != nil || !bytes.HasPrefix(doc, []byte("%PDF-1.4")) || bytes.Count(doc, []byte(") Tj")) != 3+4 || !bytes.Contains(doc, []byte("| -251.5 | USD |")) {
		t.Fatalf("statement: %v %q", err, doc)
	}
	h.call(400, "GET", "/account/statement?start_date=2025-01-01&ending_date=2025-03-10", nil, nil)

	var pdf masspay.PDFConfirmation
	h.call(200, "PATCH", "/"+u.UserToken+"/"+p.PayoutToken, nil, &pdf)
	raw, err := base64.StdEncoding.DecodeString(pdf.Content)
	if err != nil || !bytes.HasPrefix(raw, []byte("%PDF-1.4")) || !bytes.HasSuffix(raw, []byte("%%EOF\n")) || !bytes.Contains(raw, []byte(p.PayoutToken)) {
		t.Fatalf("pdf: %v %q", err, raw)
	}

	var countries []masspay.Country
	h.call(200, "GET", "/country/list", nil, &countries)
	if len(countries) < 8 || countries[0].ThreeLetterCode != "USA" || countries[0].Code != "US" {
		t.Fatalf("countries: %+v", countries)
	}
	var svc masspay.Service
	h.call(200, "GET", "/service/"+dst, nil, &svc)
	if svc.CountryCode != "USA" || svc.Payers[0].DestinationToken != dst {
		t.Fatalf("service: %+v", svc)
	}

	// Tax: this year's totals, per user; a user without an address has no tax_id.
	noAddr := h.createUser("noaddr@example.com", func(u *masspay.User) { u.Address1 = ""; u.City = "" })
	h.call(200, "POST", "/load/"+noAddr.UserToken, masspay.LoadTxn{ClientLoadID: "ld-4", SourceToken: usd, Amount: dec("5")}, nil)
	var tax []masspay.TaxYearUser
	h.call(200, "GET", "/tax?tax_year=2025&amount_threshold=0", nil, &tax)
	if len(tax) != 2 || tax[0].UserToken != u.UserToken || !tax[0].Balance.Equal(dec("400")) || tax[0].TaxID == "" || tax[1].TaxID != "" {
		t.Fatalf("tax: %+v", tax)
	}
	h.call(200, "GET", "/tax?tax_year=2025&amount_threshold=100", nil, &tax)
	if len(tax) != 1 {
		t.Fatalf("tax with threshold: %+v", tax)
	}
	h.call(200, "GET", "/tax", nil, &tax)
	if len(tax) != 0 {
		t.Fatalf("tax of last year: %+v", tax)
	}
}

func TestRoutesFilters(t *testing.T) {
	h := start(t, nil)
	routes := func(q string) []masspay.Route {
		var cs masspay.CountryServices
		h.call(200, "GET", q, nil, &cs)
		return cs.Routes()
	}
	all := routes("/country/MEX")
	if len(all) != 5 {
		t.Fatalf("MEX routes: %d", len(all))
	}
	if r := routes("/country/MEX/best?only_generic_payers=true"); r[0].PayerName != "Bank Deposit" || containsPayer(r, "Elektra") {
		t.Fatalf("generic MEX: %+v", r)
	}
	if r := routes("/country/CAN/cheapest?payer_name=Bank%20Deposit|Interac"); len(r) != 2 || r[0].PayerName != "Interac" {
		t.Fatalf("payer_name filter: %+v", r)
	}
	if r := routes("/country/CAN/best?amount=5000&destination_currency=CAD"); len(r) != 1 || r[0].PayerName != "Bank Deposit" {
		t.Fatalf("amount filter (Interac max 3000): %+v", r)
	}
	if r := routes("/country/PHL/best?destination_currency=BTC"); len(r) != 1 || r[0].DeliveryType != "CRYPTOCURRENCY" {
		t.Fatalf("crypto route: %+v", r)
	}
	if r := routes("/country/USA?limit=2"); len(r) != 2 {
		t.Fatalf("limit: %+v", r)
	}
	// EUR converts through USD: fee 1.50 USD = 1.38 EUR.
	if r := routes("/country/USA/best?source_currency=EUR&destination_currency=USD"); !r[0].Fee.Equal(dec("1.38")) || !r[0].ExchangeRate[0].ExchangeRate.Equal(dec("1.086956521739")) {
		t.Fatalf("EUR route: %+v", r[0])
	}
	h.call(400, "GET", "/country/USA/best?source_currency=XYZ", nil, nil)
	h.call(400, "GET", "/country/USA/best?amount=abc", nil, nil)
}

func containsPayer(rs []masspay.Route, name string) bool {
	for _, r := range rs {
		if r.PayerName == name {
			return true
		}
	}
	return false
}

func TestScheduledAndReversedLoads(t *testing.T) {
	h := start(t, nil)
	u := h.createUser("sched@example.com", nil)
	usd := h.sourceToken("USD")
	at := t0.Add(time.Hour)
	var ld masspay.LoadTxnResp
	h.call(200, "POST", "/load/"+u.UserToken, masspay.LoadTxn{ClientLoadID: "s-1", SourceToken: usd, Amount: dec("10"), TimeToProcess: &at}, &ld)
	if ld.Status != masspay.LoadScheduled {
		t.Fatalf("scheduled load: %+v", ld)
	}
	var ld2 masspay.LoadTxnResp
	h.call(200, "POST", "/load/"+u.UserToken, masspay.LoadTxn{ClientLoadID: "s-2", SourceToken: usd, Amount: dec("20"), TimeToProcess: &at}, &ld2)
	h.call(200, "DELETE", "/load/"+u.UserToken+"?load_token="+ld2.LoadToken, nil, &ld2)
	if ld2.Status != masspay.LoadCancelled {
		t.Fatalf("cancelled load: %+v", ld2)
	}
	h.advance(59 * time.Minute)
	var wallets []masspay.Wallet
	h.call(200, "GET", "/wallet/"+u.UserToken, nil, &wallets)
	if !wallets[0].Balance.IsZero() {
		t.Fatalf("processed early: %+v", wallets)
	}
	h.advance(time.Minute)
	h.call(200, "GET", "/wallet/"+u.UserToken, nil, &wallets)
	if !wallets[0].Balance.Equal(dec("10")) {
		t.Fatalf("scheduled load not processed: %+v", wallets)
	}
	if got := h.balance("USD"); !got.Equal(dec("999990")) {
		t.Fatalf("USD: %s", got)
	}
	// Reverse the processed load: the wallet gives it back.
	h.call(200, "DELETE", "/load/"+u.UserToken+"?load_token="+ld.LoadToken, nil, &ld)
	if ld.Status != masspay.LoadCancelled || !h.balance("USD").Equal(dec("1000000")) {
		t.Fatalf("reversed: %+v %s", ld, h.balance("USD"))
	}
	h.call(400, "DELETE", "/load/"+u.UserToken, nil, nil)
	h.call(404, "DELETE", "/load/"+u.UserToken+"?load_token=ld_nope", nil, nil)
	// A used client_load_id is a 409 DUPLICATE.
	st, b := h.do("POST", "/load/"+u.UserToken, masspay.LoadTxn{ClientLoadID: "s-1", SourceToken: usd, Amount: dec("10")})
	if e := errBody(t, b); st != 409 || e.Code != 409 || e.Error == nil || e.Error.Reason != "duplicate" {
		t.Fatalf("duplicate load: %d %s", st, b)
	}
}

var _ = decimal.Zero
