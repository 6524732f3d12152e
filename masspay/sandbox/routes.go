package sandbox

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// quote is a route priced for one source currency.
type quote struct {
	rate, fee, min, max decimal.Decimal
}

// price prices r for source currency src: the rate converts through USD,
// the fee and limits are USD amounts converted to src.
func price(r *route, src string) quote {
	return quote{rate: rateBetween(src, r.Currency), fee: fromUSD(r.FeeUSD, src), min: fromUSD(r.MinUSD, src), max: fromUSD(r.MaxUSD, src)}
}

// payer renders r as the API's Payer for source currency src and amount.
func payer(r *route, src string, amount decimal.Decimal) masspay.Payer {
	q := price(r, src)
	return masspay.Payer{DestinationToken: r.Token, PayerName: r.PayerName,
		ExchangeRate: []masspay.ExchangeRate{{CurrencySymbol: r.Currency, ExchangeRate: q.rate}},
		Fee:          q.fee, MinLimit: q.min, MaxLimit: q.max, SourceAmount: amount.Add(q.fee),
		NumberOfLocations: r.Locations, EstimatedAvailability: r.Availability, AdditionalDescription: r.Description,
		IsDynamicToken: false}
}

// routesHandler serves GET /country/{cc}, /best and /cheapest. Query:
// amount (in the source currency; filters by limits), source_currency
// (default USD), destination_currency, payer_name (several joined by "|"),
// only_generic_payers, limit; user_token, wallet_token and
// include_payer_logos are accepted. /best sorts by fee, then the best rate;
// /cheapest by fee alone; the plain form keeps catalog order.
func routesHandler(kind string) handler {
	return func(s *Sandbox, rq *request) (int, any, *apiError) {
		cc := strings.ToUpper(rq.seg[1])
		if !alpha3.MatchString(cc) {
			return 0, nil, badField("country_code", "invalid_country", "country_code must be an ISO 3166 alpha-3 code such as USA")
		}
		src := strings.ToUpper(rq.q.Get("source_currency"))
		if src == "" {
			src = "USD"
		}
		if _, ok := currencies[src]; !ok {
			return 0, nil, badField("source_currency", "invalid_currency", "source_currency %q is not supported", src)
		}
		amount := decimal.Zero
		if v := rq.q.Get("amount"); v != "" {
			d, err := decimal.NewFromString(v)
			if err != nil {
				return 0, nil, badField("amount", "invalid_amount", "amount must be a number")
			}
			if e := checkAmount("amount", d); e != nil {
				return 0, nil, e
			}
			amount = d
		}
		limit := 0
		if v := rq.q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return 0, nil, badField("limit", "invalid_limit", "limit must be a non-negative integer")
			}
			limit = n
		}
		if ut := rq.q.Get("user_token"); ut != "" && s.users[ut] == nil {
			return 0, nil, notFound("user %s not found", ut)
		}
		dst := strings.ToUpper(rq.q.Get("destination_currency"))
		generic := strings.EqualFold(rq.q.Get("only_generic_payers"), "true")
		var names []string
		if v := rq.q.Get("payer_name"); v != "" {
			names = strings.Split(v, "|")
		}
		var list []*route
		for _, r := range catalog {
			if r.Country != cc || (dst != "" && r.Currency != dst) || (generic && !r.Generic) || !nameIn(r.PayerName, names) {
				continue
			}
			if amount.IsPositive() {
				q := price(r, src)
				if amount.LessThan(q.min) || amount.GreaterThan(q.max) {
					continue
				}
			}
			list = append(list, r)
		}
		// Crypto routes rank after fiat ones unless destination_currency asks
		// for a coin: a caller taking the first "best" route for a country
		// wants money in the local currency.
		crypto := func(r *route) bool { return r.DeliveryType == masspay.DeliveryCryptocurrency }
		switch kind {
		case "best":
			sort.SliceStable(list, func(i, j int) bool {
				if crypto(list[i]) != crypto(list[j]) {
					return !crypto(list[i])
				}
				if c := list[i].FeeUSD.Cmp(list[j].FeeUSD); c != 0 {
					return c < 0
				}
				// A better rate is more destination value per USD.
				return toUSD(decimal.NewFromInt(1), list[i].Currency).LessThan(toUSD(decimal.NewFromInt(1), list[j].Currency))
			})
		case "cheapest":
			sort.SliceStable(list, func(i, j int) bool {
				if crypto(list[i]) != crypto(list[j]) {
					return !crypto(list[i])
				}
				return list[i].FeeUSD.LessThan(list[j].FeeUSD)
			})
		}
		if limit > 0 && len(list) > limit {
			list = list[:limit]
		}
		display := amount
		if !display.IsPositive() {
			display = decimal.Zero
		}
		out := masspay.CountryServices{Companies: []masspay.Company{}}
		for _, r := range list {
			rating := decimal.RequireFromString("4.5")
			out.Companies = append(out.Companies, masspay.Company{CompanyName: r.Company, Rating: &rating,
				Description: r.Company + " payouts in " + r.Country, CompanyLogo: companyLogo(r.Company),
				Services: []masspay.Service{{CountryCode: r.Country, DeliveryType: r.DeliveryType, Payers: []masspay.Payer{payer(r, src, display)}}}})
		}
		return http.StatusOK, out, nil
	}
}

// companyLogo is a stable logo URL for a company: the SDK's Company
// declares company_logo a required string.
func companyLogo(company string) string {
	return "https://sandbox.masspay.example/logos/" + strings.ToLower(strings.ReplaceAll(company, " ", "-")) + ".png"
}

func nameIn(name string, names []string) bool {
	if len(names) == 0 {
		return true
	}
	for _, n := range names {
		if strings.EqualFold(strings.TrimSpace(n), name) {
			return true
		}
	}
	return false
}

func (s *Sandbox) getService(rq *request) (int, any, *apiError) {
	r := routesByToken[rq.seg[1]]
	if r == nil {
		return 0, nil, notFound("destination %s not found", rq.seg[1])
	}
	return http.StatusOK, masspay.Service{CountryCode: r.Country, DeliveryType: r.DeliveryType,
		Payers: []masspay.Payer{payer(r, "USD", decimal.Zero)}}, nil
}
