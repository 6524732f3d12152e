package sandbox

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// This file serves the endpoints of masspay-js-sdk 2.0.0 that payrun itself
// does not call but that its users may meet with MassPay's own tools, and
// answers the ones the sandbox does not model with a JSON 501.

// taxInterview is the answer of GET /{user_token}/tax: the SDK's
// {interview_url}, plus the payee's figures for the tax year, so a caller
// sees what the interview is about.
type taxInterview struct {
	InterviewURL string              `json:"interview_url"`
	TaxYear      int                 `json:"tax_year"`
	TaxYearUser  masspay.TaxYearUser `json:"tax_year_user"`
}

// userTax serves GET /{user_token}/tax?return_url=&tax_year= (SDK
// getTaxInterviewLink).
func (s *Sandbox) userTax(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[0])
	if e != nil {
		return 0, nil, e
	}
	year, e := s.taxYear(rq)
	if e != nil {
		return 0, nil, e
	}
	link := "https://sandbox.masspay.example/tax/interview/" + u.UserToken
	if ret := rq.q.Get("return_url"); ret != "" {
		link += "?return_url=" + url.QueryEscape(ret)
	}
	return http.StatusOK, taxInterview{InterviewURL: link, TaxYear: year,
		TaxYearUser: taxYearUser(u, s.taxSums(year)[u.UserToken].Round(2))}, nil
}

// taxYear reads ?tax_year= (default: last year).
func (s *Sandbox) taxYear(rq *request) (int, *apiError) {
	year := s.Now().Year() - 1
	if v := rq.q.Get("tax_year"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1970 || n > 9999 {
			return 0, badField("tax_year", "invalid_year", "tax_year must be a year such as 2024")
		}
		year = n
	}
	return year, nil
}

// taxSums is, per user token, the USD value of completed loads and of
// payouts from the account (not from a wallet) that did not end cancelled,
// in year. Callers hold s.mu.
func (s *Sandbox) taxSums(year int) map[string]decimal.Decimal {
	sums := map[string]decimal.Decimal{}
	for _, l := range s.loadList {
		if l.status == masspay.LoadCompleted && l.created.Year() == year {
			sums[l.userToken] = sums[l.userToken].Add(toUSD(l.amount, l.currency))
		}
	}
	for _, p := range s.payoutList {
		if p.committed && p.Status != masspay.StatusCancelled && p.committedAt.Year() == year && s.wallets[p.SourceToken] == nil {
			sums[p.userToken] = sums[p.userToken].Add(toUSD(p.SourceAmount, p.SourceCurrencyCode))
		}
	}
	return sums
}

// alternatives serves GET /service/{destination_token}/alternatives: the
// other payers of the same country and delivery type (SDK
// getDestinationTokenAlternatives answers a Service).
func (s *Sandbox) alternatives(rq *request) (int, any, *apiError) {
	r := routesByToken[rq.seg[1]]
	if r == nil {
		return 0, nil, notFound("destination %s not found", rq.seg[1])
	}
	out := masspay.Service{CountryCode: r.Country, DeliveryType: r.DeliveryType, Payers: []masspay.Payer{}}
	for _, o := range catalog {
		if o != r && o.Country == r.Country && o.DeliveryType == r.DeliveryType {
			out.Payers = append(out.Payers, payer(o, "USD", decimal.Zero))
		}
	}
	return http.StatusOK, out, nil
}

// allAttributes serves GET /attribute/{user_token} (SDK getAllAttrs): per
// route the payee has stored attributes for, the payer and the attributes
// with their stored values, in catalog order.
func (s *Sandbox) allAttributes(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return 0, nil, e
	}
	var routes []*route
	for _, set := range s.attrSets {
		if set.userToken == u.UserToken && !set.revoked {
			if r := routesByToken[set.destToken]; r != nil && !containsRoute(routes, r) {
				routes = append(routes, r)
			}
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].order < routes[j].order })
	out := make([]allAttributes, 0, len(routes))
	for _, r := range routes {
		p := payer(r, "USD", decimal.Zero)
		out = append(out, allAttributes{DestinationToken: r.Token, PayerName: r.PayerName, ExchangeRate: p.ExchangeRate,
			MaxLimit: p.MaxLimit, MinLimit: p.MinLimit, NumberOfLocations: r.Locations, EstimatedAvailability: r.Availability,
			AdditionalDescription: r.Description, IsDynamicToken: false, Attributes: s.attrReqs(u, r)})
	}
	return http.StatusOK, out, nil
}

func containsRoute(list []*route, r *route) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// allAttributes is one entry of GET /attribute/{user_token}, the SDK's
// AllAttributesResp.
type allAttributes struct {
	DestinationToken      string                     `json:"destination_token"`
	PayerName             string                     `json:"payer_name"`
	ExchangeRate          []masspay.ExchangeRate     `json:"exchange_rate"`
	MaxLimit              decimal.Decimal            `json:"max_limit"`
	MinLimit              decimal.Decimal            `json:"min_limit"`
	NumberOfLocations     int                        `json:"number_of_locations"`
	EstimatedAvailability string                     `json:"estimated_availability"`
	AdditionalDescription string                     `json:"additional_description"`
	IsDynamicToken        bool                       `json:"is_dynamic_token"`
	Attributes            []masspay.AttrsRequirement `json:"attributes"`
}

// resent is the answer of the two resend-notification endpoints.
type resent struct {
	Success bool `json:"success"`
}

// resendLoadNotice serves PUT /load/{user_token}?load_token= (SDK
// resendLoadNotification): the load's status callback is sent again.
func (s *Sandbox) resendLoadNotice(rq *request) (int, any, *apiError) {
	l, e := s.load404(rq)
	if e != nil {
		return 0, nil, e
	}
	s.loadEvent(l, s.Now())
	return http.StatusOK, resent{Success: true}, nil
}

// resendBalanceNotice serves PUT /wallet/{user_token}?wallet_token= (SDK
// resendBalanceNotification). The sandbox sends no balance e-mails; it
// checks the wallet and answers as MassPay does.
func (s *Sandbox) resendBalanceNotice(rq *request) (int, any, *apiError) {
	u, e := s.user404(rq.seg[1])
	if e != nil {
		return 0, nil, e
	}
	if tok := rq.q.Get("wallet_token"); tok != "" {
		if w := s.wallets[tok]; w == nil || w.UserToken != u.UserToken {
			return 0, nil, notFound("wallet %s not found", tok)
		}
	}
	return http.StatusOK, resent{Success: true}, nil
}

// notServed is the method table of an endpoint masspay-js-sdk 2.0.0 defines
// but the sandbox does not model: each of the SDK's methods answers a JSON
// 501 in MassPay's error shape naming the SDK operation, never an HTML page
// or a misleading 404 for a path that exists at MassPay.
func notServed(operation string, httpMethods ...string) methods {
	h := func(*Sandbox, *request) (int, any, *apiError) {
		return 0, nil, &apiError{Status: http.StatusNotImplemented, Title: "Not Implemented",
			Message: "the payrun sandbox does not serve " + operation + " (masspay-js-sdk 2.0.0); use MassPay's staging API for it",
			Code:    "NOT_SERVED_BY_SANDBOX"}
	}
	ms := methods{}
	for _, m := range httpMethods {
		ms[m] = h
	}
	return ms
}
