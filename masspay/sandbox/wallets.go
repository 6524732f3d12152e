package sandbox

import (
	"net/http"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

func (s *Sandbox) listWallets(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return 0, nil, e
	}
	out := []masspay.Wallet{}
	for _, w := range s.userWallets[u.UserToken] {
		out = append(out, w.Wallet)
	}
	return http.StatusOK, out, nil
}

// wallet404 finds the wallet of path /wallet/{user}/{wallet}/autopayout.
func (s *Sandbox) wallet404(rq *request) (*user, *wallet, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return nil, nil, e
	}
	w := s.wallets[rq.seg[2]]
	if w == nil || w.UserToken != u.UserToken {
		return nil, nil, notFound("wallet %s not found", rq.seg[2])
	}
	return u, w, nil
}

func rulesOf(w *wallet) []masspay.AutopayRule {
	out := make([]masspay.AutopayRule, 0, len(w.rules))
	for _, r := range w.rules {
		out = append(out, *r)
	}
	return out
}

func (s *Sandbox) listRules(rq *request) (int, any, *apiError) {
	_, w, e := s.wallet404(rq)
	if e != nil {
		return 0, nil, e
	}
	return http.StatusOK, rulesOf(w), nil
}

// addRule adds an autopay rule; the percentages of a wallet's rules add up
// to at most 100.
func (s *Sandbox) addRule(rq *request) (int, any, *apiError) {
	u, w, e := s.wallet404(rq)
	if e != nil {
		return 0, nil, e
	}
	var in masspay.AutopayRuleTxn
	if e := decodeBody(rq.body, &in); e != nil {
		return 0, nil, e
	}
	if e := required("destination_token", in.DestinationToken); e != nil {
		return 0, nil, e
	}
	r := routesByToken[in.DestinationToken]
	if r == nil {
		return 0, nil, badField("destination_token", "invalid_destination", "destination_token %q is not a known route", in.DestinationToken)
	}
	hundred := decimal.NewFromInt(100)
	if !in.Percentage.IsPositive() || in.Percentage.GreaterThan(hundred) || in.Percentage.Exponent() < -4 {
		return 0, nil, badField("percentage", "invalid_percentage", "percentage must be greater than 0 and at most 100")
	}
	sum := in.Percentage
	for _, x := range w.rules {
		sum = sum.Add(x.Percentage)
	}
	if sum.GreaterThan(hundred) {
		return 0, nil, badField("percentage", "invalid_percentage", "the wallet's autopay rules would add up to %s%%, more than 100%%", sum)
	}
	if in.AttrSetToken != "" {
		set := s.liveAttrSet(in.AttrSetToken)
		if set == nil || set.userToken != u.UserToken || set.destToken != r.Token {
			return 0, nil, badField("attr_set_token", "unknown_attr_set", "attr_set_token %q does not belong to this user and destination", in.AttrSetToken)
		}
	}
	rule := &masspay.AutopayRule{Token: "apr_" + s.uuid(), DestinationToken: r.Token, Percentage: in.Percentage, AttrSetToken: in.AttrSetToken}
	w.rules = append(w.rules, rule)
	s.touchWallet(w)
	return http.StatusOK, *rule, nil
}

// deleteRule deletes the rule named by ?token= and answers the rules left.
func (s *Sandbox) deleteRule(rq *request) (int, any, *apiError) {
	_, w, e := s.wallet404(rq)
	if e != nil {
		return 0, nil, e
	}
	tok := rq.q.Get("token")
	if tok == "" {
		return 0, nil, badField("token", "required", "token is required")
	}
	for i, r := range w.rules {
		if r.Token == tok {
			w.rules = append(w.rules[:i:i], w.rules[i+1:]...)
			s.touchWallet(w)
			return http.StatusOK, rulesOf(w), nil
		}
	}
	return 0, nil, notFound("autopay rule %s not found", tok)
}
