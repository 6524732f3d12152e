package autopay

import (
	"fmt"
	"slices"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
	"github.com/shopspring/decimal"
)

var hundred = decimal.NewFromInt(100)

// maxPercentPlaces is the most decimals MassPay takes in a rule's percentage.
const maxPercentPlaces = 4

// ValidateAutopaySheet checks an autopay rules sheet without calling MassPay:
// every cell, routes named twice, and the total per wallet of the sheet's own
// rules. It returns every problem, sorted by row; the header's come first.
// Totals that count rules already in MassPay are PlanAutopay's check.
func ValidateAutopaySheet(s *AutopaySheet) sheet.Problems {
	ps := append(sheet.Problems(nil), s.Problems...)
	type walletKey struct{ user, cur string }
	totals := map[walletKey]decimal.Decimal{}
	lines := map[walletKey][]int{}
	routes := map[string]int{}
	for _, r := range s.Rows {
		ps = append(ps, r.Problems...)
		bad := func(col, val, rule, format string, args ...any) {
			ps = append(ps, sheet.Problem{Sheet: r.Sheet, Line: r.Line, Column: col, Value: val, Rule: rule, Message: fmt.Sprintf(format, args...)})
		}
		if r.InternalUserID == "" {
			bad(sheet.ColInternalUserID, "", "required", "internal_user_id is empty; every rule belongs to a payee")
		}
		if ingest.IsExampleID(r.InternalUserID) {
			bad(sheet.ColInternalUserID, r.InternalUserID, "template_example", "%q: this is the template's example rule; delete it (ids starting with %s are never applied)", r.InternalUserID, ingest.ExampleIDPrefix)
		}
		if c, ok := sheet.LookupCurrency(r.WalletCurrency); !ok || c.Code != r.WalletCurrency {
			bad(ColWalletCurrency, r.WalletCurrency, "bad_currency", "%q is not a currency code such as USD", r.WalletCurrency)
		}
		switch r.Action {
		case AutopayActionAdd, AutopayActionRemove:
		default:
			bad(ColAction, r.Action, "bad_action", "%q is not an action; write add or remove (empty means add)", r.Action)
		}
		pctMsg := percentProblem(r.Percentage, r.Action == AutopayActionRemove)
		if pctMsg != "" && !hasRule(r.Problems, "bad_percentage") {
			bad(ColPercentage, r.Percentage.String(), "bad_percentage", "%s", pctMsg)
		}
		for _, p := range routeProblems(r.Route) {
			bad(p.Column, p.Value, p.Rule, "%s", p.Message)
		}
		k := strings.Join([]string{r.InternalUserID, r.WalletCurrency, r.Route.key()}, "\x1f")
		if first, dup := routes[k]; dup {
			bad(sheet.ColDestinationToken, r.Route.String(), "duplicate_rule",
				"payee %s's %s wallet already has a rule to %s on row %d; give each route one row", r.InternalUserID, r.WalletCurrency, r.Route, first)
		} else {
			routes[k] = r.Line
		}
		// A percentage already refused above is not added up: one mistake, one message.
		if r.Action == AutopayActionAdd && pctMsg == "" {
			wk := walletKey{r.InternalUserID, r.WalletCurrency}
			totals[wk] = totals[wk].Add(r.Percentage)
			lines[wk] = append(lines[wk], r.Line)
		}
	}
	for wk, total := range totals {
		if total.GreaterThan(hundred) {
			ls := lines[wk]
			ps = append(ps, sheet.Problem{Sheet: s.Name, Line: ls[len(ls)-1], Column: ColPercentage, Value: total.String(), Rule: "total_over_100",
				Message: fmt.Sprintf("the rules of payee %s's %s wallet add up to %s%% (rows %s); together they may send at most 100%% of a load",
					wk.user, wk.cur, total, joinInts(ls))})
		}
	}
	ps.Sort()
	return ps
}

// percentProblem says what is wrong with a rule's percentage, or "".
// A remove row may leave it empty (zero).
func percentProblem(p decimal.Decimal, remove bool) string {
	switch {
	case remove && p.IsZero():
		return ""
	case p.IsZero():
		return "percentage is empty or 0; write the share of each load to send on, e.g. 25"
	case p.IsNegative():
		return fmt.Sprintf("percentage %s must be greater than 0", p)
	case p.GreaterThan(hundred):
		return fmt.Sprintf("percentage %s is over 100; a rule can send at most all of a load", p)
	case p.Exponent() < -maxPercentPlaces && !p.Equal(p.Round(maxPercentPlaces)):
		return fmt.Sprintf("percentage %s has more than %d decimals", p, maxPercentPlaces)
	}
	return ""
}

// routeProblems checks the route columns of a rule (or of a payout row's
// autopay) without calling MassPay.
func routeProblems(rt AutopayRoute) []sheet.Problem {
	var ps []sheet.Problem
	add := func(col, val, rule, msg string) {
		ps = append(ps, sheet.Problem{Column: col, Value: val, Rule: rule, Message: msg})
	}
	if rt.DestinationToken == "" {
		switch {
		case rt.Country == "":
			add(sheet.ColDestinationToken, "", "required", "give a destination_token, or a country and delivery_type, to say where the rule sends money")
		default:
			if _, ok := sheet.LookupCountry(rt.Country); !ok {
				add(sheet.ColCountry, rt.Country, "bad_country", fmt.Sprintf("%q is not a country; write its ISO code (MEX) or English name", rt.Country))
			}
			if rt.DeliveryType == "" {
				add(sheet.ColDeliveryType, "", "required", "delivery_type is empty; with a country it says how the money is delivered (BANK_DEPOSIT, ...)")
			}
		}
	}
	if rt.DeliveryType != "" && !slices.Contains(validate.DeliveryTypes, rt.DeliveryType) {
		add(sheet.ColDeliveryType, rt.DeliveryType, "bad_delivery_type", fmt.Sprintf("%q is not a delivery type; write one of %s", rt.DeliveryType, strings.Join(validate.DeliveryTypes, ", ")))
	}
	if c := rt.DestinationCurrency; c != "" {
		if _, ok := sheet.LookupCurrency(c); !ok {
			add(sheet.ColDestinationCurrency, c, "bad_currency", fmt.Sprintf("%q is not a currency code", c))
		}
	}
	return ps
}

func hasRule(ps []sheet.Problem, rule string) bool {
	for _, p := range ps {
		if p.Rule == rule {
			return true
		}
	}
	return false
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
