package sandbox

import (
	"net/http"
	"strings"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

func (s *Sandbox) createLoad(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return 0, nil, e
	}
	var in masspay.LoadTxn
	if e := decodeBody(rq.body, &in); e != nil {
		return 0, nil, e
	}
	if u.Status == masspay.UserLocked {
		return 0, nil, kycError(u)
	}
	if e := required("client_load_id", in.ClientLoadID, "source_token", in.SourceToken); e != nil {
		return 0, nil, e
	}
	if e := maxLen("client_load_id", in.ClientLoadID, 50); e != nil {
		return 0, nil, e
	}
	if in.Amount.IsZero() {
		return 0, nil, badField("amount", "required", "amount is required")
	}
	if e := checkAmount("amount", in.Amount); e != nil {
		return 0, nil, e
	}
	b := s.balanceTokens[in.SourceToken]
	if b == nil {
		return 0, nil, badField("source_token", "invalid_source", "source_token %q is not one of the account's balances", in.SourceToken)
	}
	cur := strings.ToUpper(in.SourceCurrencyCode)
	if cur == "" {
		cur = b.currency
	}
	if cur != b.currency {
		return 0, nil, badField("source_currency_code", "invalid_currency", "source_currency_code must be %s for this source_token", b.currency)
	}
	if places := currencies[cur].places; !in.Amount.Equal(in.Amount.Round(places)) {
		return 0, nil, badField("amount", "invalid_amount", "amount has more than %d decimal places", places)
	}
	if prev := s.loadsByClient[in.ClientLoadID]; prev != nil {
		return 0, nil, &apiError{Status: http.StatusConflict, Title: "Duplicate load",
			Message: "client_load_id was already used by load " + prev.token, Code: "DUPLICATE",
			Reason: "duplicate", Details: []string{"client_load_id"}}
	}
	if cents(in.Amount) == centsFailure {
		return 0, nil, &apiError{Status: http.StatusBadRequest, Title: "Load refused",
			Message: "the load was refused (sandbox magic cents .13)", Code: "LOAD_REFUSED",
			Reason: "load_refused", Details: []string{"amount"}}
	}
	if b.amount.LessThan(in.Amount) {
		return 0, nil, &apiError{Status: http.StatusBadRequest, Title: "Insufficient funds",
			Message: "the " + cur + " balance cannot cover this load", Code: "NSF", Reason: "nsf", Details: []string{"amount"}}
	}
	now := s.Now()
	b.amount = b.amount.Sub(in.Amount)
	s.record(b, "load", in.Amount.Neg(), "load "+in.ClientLoadID, in.ClientLoadID, u.UserToken)
	w := s.walletFor(u, cur)
	s.seq++
	l := &load{token: "ld_" + s.uuid(), clientID: in.ClientLoadID, userToken: u.UserToken, walletToken: w.Token,
		currency: cur, notes: in.Notes, amount: in.Amount, created: now, seq: s.seq}
	s.loads[l.token] = l
	s.loadList = append(s.loadList, l)
	s.loadsByClient[l.clientID] = l
	s.touchLoad(l)
	if in.TimeToProcess != nil && in.TimeToProcess.After(now) {
		l.status, l.processAt = masspay.LoadScheduled, in.TimeToProcess.UTC()
		s.loadEvent(l, now)
		s.after(l.processAt, timerLoad, l.token)
	} else {
		s.processLoad(l, now)
	}
	return http.StatusOK, masspay.LoadTxnResp{LoadToken: l.token, Status: l.status, WalletToken: l.walletToken}, nil
}

// processLoad credits the wallet and fires its autopay rules. Callers hold
// s.mu.
func (s *Sandbox) processLoad(l *load, at time.Time) {
	if l.status != "" && l.status != masspay.LoadScheduled {
		return
	}
	l.status = masspay.LoadCompleted
	if !l.processAt.IsZero() {
		l.created = at
	}
	s.touchLoad(l)
	w := s.wallets[l.walletToken]
	w.Balance = w.Balance.Add(l.amount)
	s.touchWallet(w)
	s.loadEvent(l, at)
	s.autopay(l, w, at)
}

// autopay sends each rule's percentage of load l from wallet w to the rule's
// destination as a committed payout. The fee is taken out of the share: the
// wallet is debited exactly the share.
func (s *Sandbox) autopay(l *load, w *wallet, at time.Time) {
	u := s.users[l.userToken]
	for _, rule := range w.rules {
		r := routesByToken[rule.DestinationToken]
		if r == nil {
			continue
		}
		q := price(r, w.CurrencyCode)
		share := l.amount.Mul(rule.Percentage).Div(decimal.NewFromInt(100)).RoundDown(currencies[w.CurrencyCode].places)
		sa := share.Sub(q.fee)
		if !sa.IsPositive() || sa.LessThan(q.min) || sa.GreaterThan(q.max) || w.Balance.LessThan(share) {
			continue
		}
		w.Balance = w.Balance.Sub(share)
		s.touchWallet(w)
		s.seq++
		p := &payout{userToken: u.UserToken, route: r, created: at, expires: at.Add(QuoteValidity), cents: cents(sa), seq: s.seq,
			PayoutTxnResp: masspay.PayoutTxnResp{PayoutToken: "payout_" + s.uuid(), SourceCurrencyCode: w.CurrencyCode,
				DestinationCurrencyCode: r.Currency, SourceToken: w.Token, DestinationToken: r.Token, SourceAmount: sa,
				DestinationAmount: sa.Mul(q.rate).Round(currencies[r.Currency].places), AttrSetToken: rule.AttrSetToken,
				ExchangeRate: q.rate, Fee: q.fee, PayerName: r.PayerName, DeliveryType: r.DeliveryType, CountryCode: r.Country,
				EstimatedAvailability: r.Availability, Metadata: map[string]any{"autopay_rule": rule.Token, "load_token": l.token}}}
		p.Expiration = stamp(p.expires)
		s.payouts[p.PayoutToken] = p
		s.payoutList = append(s.payoutList, p)
		s.touchPayout(p)
		s.markCommitted(p, at)
	}
}

// walletFor returns u's USER_FUNDS wallet in cur, creating it on first use.
func (s *Sandbox) walletFor(u *user, cur string) *wallet {
	for _, w := range s.userWallets[u.UserToken] {
		if w.CurrencyCode == cur {
			return w
		}
	}
	w := &wallet{Wallet: masspay.Wallet{Token: "usr_wlt_" + s.uuid(), UserToken: u.UserToken, Balance: decimal.Zero,
		CurrencyCode: cur, Type: masspay.WalletUserFunds, Active: true}}
	s.wallets[w.Token] = w
	s.userWallets[u.UserToken] = append(s.userWallets[u.UserToken], w)
	s.touchWallet(w)
	return w
}

func (s *Sandbox) listLoads(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return 0, nil, e
	}
	out := []masspay.Load{}
	for _, l := range s.loadList {
		if l.userToken == u.UserToken {
			out = append(out, s.loadView(l))
		}
	}
	return http.StatusOK, out, nil
}

// loadView is l as the SDK's Loads. The source is the account balance of
// the load's currency: the sandbox keeps one balance per currency.
func (s *Sandbox) loadView(l *load) masspay.Load {
	return masspay.Load{LoadToken: l.token, ClientLoadID: l.clientID, SourceToken: s.balances[l.currency].token,
		Amount: l.amount, Status: l.status, WalletToken: l.walletToken, TimeOfLoad: stamp(l.created), Notes: l.notes,
		CurrencyCode: l.currency}
}

// load404 finds the load of path /load/{user}?load_token=.
func (s *Sandbox) load404(rq *request) (*load, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return nil, e
	}
	tok := rq.q.Get("load_token")
	if tok == "" {
		return nil, badField("load_token", "required", "load_token is required")
	}
	l := s.loads[tok]
	if l == nil || l.userToken != u.UserToken {
		return nil, notFound("load %s not found", tok)
	}
	return l, nil
}

// deleteLoad cancels a scheduled load or reverses a processed one; both give
// the amount back to the account balance.
func (s *Sandbox) deleteLoad(rq *request) (int, any, *apiError) {
	l, e := s.load404(rq)
	if e != nil {
		return 0, nil, e
	}
	now := s.Now()
	switch l.status {
	case masspay.LoadScheduled:
	case masspay.LoadCompleted:
		w := s.wallets[l.walletToken]
		if w.Balance.LessThan(l.amount) {
			return 0, nil, &apiError{Status: http.StatusBadRequest, Title: "Bad Request", Code: "REVERSAL_REFUSED",
				Message: "the wallet no longer holds the loaded amount; the load cannot be reversed",
				Reason:  "insufficient_wallet_funds", Details: []string{"load_token"}}
		}
		w.Balance = w.Balance.Sub(l.amount)
		s.touchWallet(w)
	default:
		return http.StatusOK, masspay.LoadTxnResp{LoadToken: l.token, Status: l.status, WalletToken: l.walletToken}, nil
	}
	b := s.balances[l.currency]
	b.amount = b.amount.Add(l.amount)
	s.record(b, "load_reversal", l.amount, "reversed load "+l.token, l.clientID, l.userToken)
	l.status = masspay.LoadCancelled
	s.touchLoad(l)
	s.loadEvent(l, now)
	return http.StatusOK, masspay.LoadTxnResp{LoadToken: l.token, Status: l.status, WalletToken: l.walletToken}, nil
}
