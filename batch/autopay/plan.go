package autopay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// AutopayChangeKind says what applying a plan does about one rule.
type AutopayChangeKind string

// Change kinds. Only Add, Replace and Remove call MassPay when applied.
const (
	AutopayAdd        AutopayChangeKind = "add"          // the sheet's rule is missing: add it
	AutopayReplace    AutopayChangeKind = "replace"      // a rule to the route exists with another percentage: delete it, add the sheet's
	AutopayRemove     AutopayChangeKind = "remove"       // the sheet marks the rule for removal: delete it
	AutopayUnchanged  AutopayChangeKind = "unchanged"    // the rule exists as the sheet says
	AutopayAbsent     AutopayChangeKind = "absent"       // marked for removal, but there is no such rule
	AutopayNotInSheet AutopayChangeKind = "not in sheet" // in MassPay, not in the sheet: reported, kept
)

// Changes reports whether applying a change of this kind calls MassPay.
func (k AutopayChangeKind) Changes() bool {
	return k == AutopayAdd || k == AutopayReplace || k == AutopayRemove
}

// AutopayChange is one line of an autopay plan.
type AutopayChange struct {
	Kind AutopayChangeKind
	// Line is the sheet row; 0 for a rule that is not in the sheet.
	Line           int
	InternalUserID string
	UserToken      string
	WalletToken    string
	WalletCurrency string
	// DestinationToken and Route say where the rule sends money; Route is
	// for a person ("MEX BANK_DEPOSIT Bank Deposit (dst_...)").
	DestinationToken string
	Route            string
	// Percentage is the sheet's for add and replace, MassPay's otherwise.
	Percentage decimal.Decimal
	// Existing is the rule in MassPay that the change is about, if any.
	Existing *masspay.AutopayRule

	route     resolvedRoute
	values    []masspay.AttrValue
	storedSet string
}

// String is the plan line a person reads.
func (c AutopayChange) String() string {
	where := fmt.Sprintf("payee %s, %s wallet", c.InternalUserID, c.WalletCurrency)
	row := ""
	if c.Line > 0 {
		row = fmt.Sprintf("row %d: ", c.Line)
	}
	switch c.Kind {
	case AutopayAdd:
		return fmt.Sprintf("%sadd       %s: send %s%% of every load to %s", row, where, c.Percentage, c.Route)
	case AutopayReplace:
		return fmt.Sprintf("%sreplace   %s: %s%% -> %s%% to %s (rule %s)", row, where, c.Existing.Percentage, c.Percentage, c.Route, c.Existing.Token)
	case AutopayRemove:
		return fmt.Sprintf("%sremove    %s: %s%% to %s (rule %s)", row, where, c.Existing.Percentage, c.Route, c.Existing.Token)
	case AutopayUnchanged:
		return fmt.Sprintf("%sunchanged %s: %s%% to %s (rule %s)", row, where, c.Percentage, c.Route, c.Existing.Token)
	case AutopayAbsent:
		return fmt.Sprintf("%sabsent    %s: no rule to %s to remove", row, where, c.Route)
	case AutopayNotInSheet:
		return fmt.Sprintf("not in sheet %s: %s%% to %s (rule %s) is in MassPay but not in the sheet; kept (mark it action=remove to delete it)",
			where, c.Percentage, c.Route, c.Existing.Token)
	}
	return string(c.Kind)
}

// AutopayPlan is what applying an autopay rules sheet would change.
type AutopayPlan struct {
	Sheet   string
	Changes []AutopayChange
	// Problems refuse the plan when any is an error: nothing is applied.
	Problems sheet.Problems
}

// Pending counts the changes that call MassPay when applied.
func (p *AutopayPlan) Pending() int {
	n := 0
	for _, c := range p.Changes {
		if c.Kind.Changes() {
			n++
		}
	}
	return n
}

// Count counts the changes of kind k.
func (p *AutopayPlan) Count(k AutopayChangeKind) int {
	n := 0
	for _, c := range p.Changes {
		if c.Kind == k {
			n++
		}
	}
	return n
}

// Write prints the plan: one line per rule, then a count.
func (p *AutopayPlan) Write(w io.Writer) error {
	var b strings.Builder
	for _, c := range p.Changes {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%d to add, %d to replace, %d to remove, %d unchanged, %d in MassPay but not in the sheet\n",
		p.Count(AutopayAdd), p.Count(AutopayReplace), p.Count(AutopayRemove), p.Count(AutopayUnchanged), p.Count(AutopayNotInSheet))
	_, err := io.WriteString(w, b.String())
	return err
}

// PlanAutopay works out what making sheet s true in MassPay changes. It first
// validates the sheet with ValidateAutopaySheet and, when that finds an
// error, returns the plan with those problems without calling MassPay at
// all. Otherwise it only reads: payees (the ledger's user cache l, which may
// be nil, then a lookup), their wallets and rules, routes and the payee
// details each route needs. Payees, wallets and routes that cannot be found
// and totals over 100% that count the rules the sheet keeps become problems
// of the plan. The error is for a failed call or ledger read.
func PlanAutopay(ctx context.Context, api AutopayAPI, l *ledger.Ledger, s *AutopaySheet) (*AutopayPlan, error) {
	plan := &AutopayPlan{Sheet: s.Name, Problems: ValidateAutopaySheet(s)}
	if plan.Problems.HasErrors() {
		return plan, nil
	}
	problem := func(r AutopayRuleRow, col, val, rule, msg string) {
		plan.Problems = append(plan.Problems, sheet.Problem{Sheet: r.Sheet, Line: r.Line, Column: col, Value: val, Rule: rule, Message: msg})
	}
	// Rows grouped by wallet, in sheet order of their first row.
	type walletRows struct {
		user, cur string
		rows      []AutopayRuleRow
	}
	var groups []*walletRows
	index := map[string]*walletRows{}
	for _, r := range s.Rows {
		k := r.InternalUserID + "\x1f" + r.WalletCurrency
		g := index[k]
		if g == nil {
			g = &walletRows{user: r.InternalUserID, cur: r.WalletCurrency}
			index[k] = g
			groups = append(groups, g)
		}
		g.rows = append(g.rows, r)
	}
	tokens := map[string]string{}
	for _, g := range groups {
		tok, ok := tokens[g.user]
		if !ok {
			var err error
			if tok, err = exports.PayeeToken(ctx, api, l, g.user); err != nil {
				return nil, err
			}
			tokens[g.user] = tok
		}
		if tok == "" {
			for _, r := range g.rows {
				problem(r, sheet.ColInternalUserID, r.InternalUserID, "unknown_payee", fmt.Sprintf(
					"payee %s is not known to MassPay; pay them once with payrun run (which creates them), then apply their autopay rules", r.InternalUserID))
			}
			continue
		}
		w, err := walletIn(ctx, api, tok, g.cur)
		if errors.Is(err, ErrAutopayNoWallet) {
			for _, r := range g.rows {
				problem(r, ColWalletCurrency, g.cur, "no_wallet", fmt.Sprintf(
					"payee %s has no %s wallet yet; MassPay opens it with their first %s load (or give the rule in the payout sheet's autopay_percentage column)", g.user, g.cur, g.cur))
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("plan autopay of %s: %w", g.user, err)
		}
		existing, err := api.AutopayRules(ctx, tok, w.Token)
		if err != nil {
			return nil, fmt.Errorf("list autopay rules of %s: %w", g.user, err)
		}
		if err := planWallet(ctx, api, plan, g.user, tok, w, g.rows, existing, problem); err != nil {
			return nil, err
		}
	}
	plan.Problems.Sort()
	return plan, nil
}

// planWallet plans the rows of one wallet against its existing rules.
func planWallet(ctx context.Context, api AutopayAPI, plan *AutopayPlan, user, tok string, w masspay.Wallet, rows []AutopayRuleRow,
	existing []masspay.AutopayRule, problem func(AutopayRuleRow, string, string, string, string)) error {
	claimed := make([]bool, len(existing))
	total := decimal.Zero
	var lastAdd *AutopayRuleRow
	routeNames := map[string]string{}
	for i := range rows {
		r := rows[i]
		rt, err := resolveAutopayRoute(ctx, api, tok, w.CurrencyCode, r.Route)
		if errors.Is(err, ErrAutopayNoRoute) {
			problem(r, sheet.ColDestinationToken, r.Route.String(), "no_route", strings.TrimPrefix(err.Error(), ErrAutopayNoRoute.Error()+": "))
			continue
		}
		if err != nil {
			return err
		}
		routeNames[rt.DestinationToken] = rt.describe()
		c := AutopayChange{Line: r.Line, InternalUserID: user, UserToken: tok, WalletToken: w.Token, WalletCurrency: w.CurrencyCode,
			DestinationToken: rt.DestinationToken, Route: rt.describe(), route: rt}
		// The rule this row is about: one with the same percentage if there
		// is one, else any to the same destination.
		match := -1
		for j, e := range existing {
			if claimed[j] || e.DestinationToken != rt.DestinationToken {
				continue
			}
			if match < 0 || (e.Percentage.Equal(r.Percentage) && !existing[match].Percentage.Equal(r.Percentage)) {
				match = j
			}
		}
		if r.Action == AutopayActionRemove {
			if match < 0 {
				c.Kind = AutopayAbsent
			} else {
				claimed[match] = true
				c.Kind, c.Existing, c.Percentage = AutopayRemove, &existing[match], existing[match].Percentage
			}
			plan.Changes = append(plan.Changes, c)
			continue
		}
		c.Percentage = r.Percentage
		switch {
		case match >= 0 && existing[match].Percentage.Equal(r.Percentage):
			c.Kind = AutopayUnchanged
		case match >= 0:
			c.Kind = AutopayReplace
		default:
			c.Kind = AutopayAdd
		}
		if match >= 0 {
			claimed[match] = true
			c.Existing = &existing[match]
		}
		if c.Kind != AutopayUnchanged {
			values, stored, err := autopayDetails(ctx, api, tok, rt, r.Route.Attrs)
			if errors.Is(err, ErrAutopayDetails) {
				problem(r, sheet.AttrPrefix+"...", "", "missing_details", "the route "+rt.describe()+" needs "+strings.TrimPrefix(err.Error(), ErrAutopayDetails.Error()+": "))
				continue
			}
			if err != nil {
				return err
			}
			c.values, c.storedSet = values, stored
		}
		total = total.Add(r.Percentage)
		lastAdd = &rows[i]
		plan.Changes = append(plan.Changes, c)
	}
	for j, e := range existing {
		if claimed[j] {
			continue
		}
		name := routeNames[e.DestinationToken]
		if name == "" {
			name = e.DestinationToken
		}
		total = total.Add(e.Percentage)
		plan.Changes = append(plan.Changes, AutopayChange{Kind: AutopayNotInSheet, InternalUserID: user, UserToken: tok, WalletToken: w.Token,
			WalletCurrency: w.CurrencyCode, DestinationToken: e.DestinationToken, Route: name, Percentage: e.Percentage, Existing: &existing[j]})
	}
	if total.GreaterThan(hundred) && lastAdd != nil {
		problem(*lastAdd, ColPercentage, total.String(), "total_over_100", fmt.Sprintf(
			"payee %s's %s wallet would send %s%% of every load: the sheet's rules plus the rules already in MassPay that the sheet keeps; together they may send at most 100%% (mark rules action=remove or lower the percentages)",
			user, w.CurrencyCode, total))
	}
	return nil
}
