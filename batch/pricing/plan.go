package pricing

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// API is the part of MassPay a plan reads; it never creates a payee or
// stores anything. *masspay.Client and the runner's batch.API satisfy it.
type API interface {
	Balances(ctx context.Context) ([]masspay.AvailableBalance, error)
	LookupUser(ctx context.Context, p masspay.LookupUserParams) (*masspay.FoundUser, error)
	PreferredRoutes(ctx context.Context, countryCode string, p masspay.RouteParams) (*masspay.CountryServices, error)
	Service(ctx context.Context, destinationToken string) (*masspay.Service, error)
	Attributes(ctx context.Context, userToken, destinationToken, currency string) ([]masspay.AttrsRequirement, error)
}

var _ API = (*masspay.Client)(nil)

// PlanOptions tune MakePlanWith.
type PlanOptions struct {
	// CheckDetails asks MassPay for the required attributes of every
	// payout route and fills Plan.NeedDetails. It only reads: no payee is
	// created and nothing is stored.
	CheckDetails bool
	// Ledger, when set, supplies payee tokens cached by earlier runs
	// before MassPay is asked.
	Ledger *ledger.Ledger
}

type routeGroup struct {
	country, delivery, payer, token, src, dst string
}

// MakePlan prices rows against MassPay: balances once, and one route query per
// distinct (country, delivery type, payer, currencies) so a thousand payouts
// to Mexico cost one call.
func MakePlan(ctx context.Context, api API, rows iter.Seq2[sheet.Row, error]) (*results.Plan, error) {
	return MakePlanWith(ctx, api, rows, PlanOptions{})
}

// MakePlanWith is MakePlan with options: with CheckDetails it also predicts
// which payout rows will need payee details, as the run would find.
func MakePlanWith(ctx context.Context, api API, rows iter.Seq2[sheet.Row, error], opts PlanOptions) (*results.Plan, error) {
	bals, err := routing.FetchBalances(ctx, api)
	if err != nil {
		return nil, fmt.Errorf("fetch balances: %w", err)
	}
	p := &results.Plan{
		ByMethod: map[string]int{}, Requested: map[string]decimal.Decimal{}, Fees: map[string]decimal.Decimal{},
		Balances: map[string]decimal.Decimal{}, Shortfall: map[string]decimal.Decimal{},
	}
	for _, b := range bals {
		p.Balances[b.CurrencyCode] = b.Balance
	}
	routes := map[routeGroup]*masspay.Route{}
	det := &detailChecker{api: api, led: opts.Ledger, payees: map[string]string{}, reqs: map[string][]masspay.AttrsRequirement{}}
	for r, err := range rows {
		if err != nil {
			return nil, err
		}
		p.Rows++
		p.ByMethod[r.Method]++
		if r.Method != sheet.MethodPayout {
			p.Requested[r.SourceCurrency] = p.Requested[r.SourceCurrency].Add(r.Amount)
			continue
		}
		g := routeGroup{r.Country, strings.ToUpper(r.DeliveryType), r.PayerName, r.DestinationToken, r.SourceCurrency, r.DestinationCurrency}
		rt, seen := routes[g]
		if !seen {
			found, err := quoteRoute(ctx, api, r)
			if err != nil {
				return nil, fmt.Errorf("quote route for row %d: %w", r.Line, err)
			}
			routes[g], rt = found, found
		}
		q := results.Quote{Line: r.Line, ID: r.ClientTransferID, Country: r.Country, DeliveryType: r.DeliveryType,
			PayerName: r.PayerName, DestinationToken: r.DestinationToken, SourceCurrency: r.SourceCurrency,
			DestinationCurrency: r.DestinationCurrency}
		if rt == nil {
			q.Problem = fmt.Sprintf("no MassPay route for %s", strings.TrimSpace(strings.Join([]string{r.Country, r.DeliveryType, r.PayerName, r.DestinationCurrency}, " ")))
			p.NoRoute = append(p.NoRoute, q)
			p.Quotes = append(p.Quotes, q)
			continue
		}
		q.DeliveryType, q.PayerName, q.DestinationToken, q.Fee = rt.DeliveryType, rt.PayerName, rt.DestinationToken, rt.Fee
		q.Rate = rateTo(*rt, r.DestinationCurrency)
		if r.AmountIs == sheet.AmountIsDestination {
			q.DestinationAmount = r.Amount
			if !q.Rate.IsZero() {
				q.SourceAmount = r.Amount.DivRound(q.Rate, sheet.DecimalsOf(r.SourceCurrency)).RoundCeil(sheet.DecimalsOf(r.SourceCurrency))
			}
		} else {
			q.SourceAmount = r.Amount
			q.DestinationAmount = r.Amount.Mul(q.Rate).Round(sheet.DecimalsOf(r.DestinationCurrency))
		}
		p.Requested[r.SourceCurrency] = p.Requested[r.SourceCurrency].Add(q.SourceAmount)
		p.Fees[r.SourceCurrency] = p.Fees[r.SourceCurrency].Add(q.Fee)
		if opts.CheckDetails {
			problem, checked, err := det.check(ctx, r, rt.DestinationToken)
			if err != nil {
				return nil, fmt.Errorf("check payout details of row %d: %w", r.Line, err)
			}
			switch {
			case !checked:
				p.DetailsUnchecked++
			case problem != "":
				q.Problem = "payout details incomplete: " + problem
				p.NeedDetails = append(p.NeedDetails, q)
			}
		}
		p.Quotes = append(p.Quotes, q)
	}
	for cur, req := range p.Requested {
		need := req.Add(p.Fees[cur])
		if bal := p.Balances[cur]; need.GreaterThan(bal) {
			p.Shortfall[cur] = need.Sub(bal)
		}
	}
	return p, nil
}

func quoteRoute(ctx context.Context, api API, r sheet.Row) (*masspay.Route, error) {
	if r.DestinationToken != "" {
		svc, err := api.Service(ctx, r.DestinationToken)
		if err != nil {
			return nil, err
		}
		for _, p := range svc.Payers {
			if p.DestinationToken == r.DestinationToken {
				return &masspay.Route{CountryCode: svc.CountryCode, DeliveryType: svc.DeliveryType, Payer: p}, nil
			}
		}
		return nil, nil
	}
	p := masspay.RouteParams{SourceCurrency: r.SourceCurrency, DestinationCurrency: r.DestinationCurrency, OnlyGenericPayers: r.PayerName == ""}
	if r.PayerName != "" {
		p.PayerNames = []string{r.PayerName}
	}
	cs, err := api.PreferredRoutes(ctx, r.Country, p)
	if err != nil {
		return nil, err
	}
	for _, rt := range cs.Routes() {
		if r.DeliveryType != "" && !strings.EqualFold(rt.DeliveryType, r.DeliveryType) {
			continue
		}
		if r.PayerName != "" && !strings.EqualFold(rt.PayerName, r.PayerName) {
			continue
		}
		if routing.Pays(rt, r.DestinationCurrency) {
			return &rt, nil
		}
	}
	return nil, nil
}

func rateTo(rt masspay.Route, currency string) decimal.Decimal {
	for _, x := range rt.ExchangeRate {
		if strings.EqualFold(x.CurrencySymbol, currency) {
			return x.ExchangeRate
		}
	}
	return decimal.Zero
}

// detailChecker predicts, read-only, what the runner's storeAttributes will
// find for a payout row: the route's required attributes (GET /attribute/
// {user}/{destination}/{currency}) matched against the row's attr: columns.
// Answers are cached per payee and route, so a thousand payouts on one route
// cost one call per payee at most, and one in all for payees not yet at
// MassPay.
type detailChecker struct {
	api API
	led *ledger.Ledger
	// payees maps internal_user_id to its MassPay token ("" when MassPay
	// does not know the payee); reqs caches requirements by
	// "user|destination|currency", "" standing for "through another payee".
	payees map[string]string
	reqs   map[string][]masspay.AttrsRequirement
	// known is a payee MassPay knows, to read the requirements of a route
	// for payees it does not know yet.
	known string
	// lookups counts the payee lookups made, against planLookupBudget.
	lookups int
	// stale maps tokens read from the ledger's cache to true until
	// MassPay answers for them; a 404 through one of those is the cache's
	// fault (lookUpAgain), not the row's. anyStale stops falling back on
	// the ledger's last cached token once one cached token was stale.
	stale    map[string]bool
	anyStale bool
}

// planLookupBudget bounds the payee lookups one plan makes for payees the
// ledger has not cached: a plan of a first month's 10,000 payees must not
// take as long as paying them. Rows beyond it are checked at run time.
const planLookupBudget = 500

// payeeUnknown marks a payee the plan did not look up.
const payeeUnknown = "?"

// check returns the problem the run would report for row r on the route
// destination ("" when the details are complete), or checked false when no
// payee was at MassPay to ask through.
func (d *detailChecker) check(ctx context.Context, r sheet.Row, destination string) (problem string, checked bool, err error) {
	token, err := d.payee(ctx, r.InternalUserID)
	if err != nil || token == payeeUnknown {
		return "", false, err
	}
	via, own := token, token != ""
	if !own {
		if via, err = d.knownPayee(ctx); err != nil || via == "" {
			return "", false, err
		}
	}
	key := token + "|" + destination + "|" + r.DestinationCurrency
	reqs, ok := d.reqs[key]
	if !ok {
		reqs, err = d.api.Attributes(ctx, via, destination, r.DestinationCurrency)
		if errors.Is(err, masspay.ErrNotFound) && d.stale[via] {
			// A token the ledger cached that this MassPay does not know
			// (a ledger filled against another MassPay, a payee removed):
			// look the payee up again, once, and ask through what it says.
			if own {
				if err := d.lookUpAgain(ctx, r, via); err != nil {
					return "", false, err
				}
			} else {
				// The ledger's last cached payee is stale too: ask
				// through no cached token again.
				d.stale[via] = false
				d.known, d.anyStale = "", true
			}
			return d.check(ctx, r, destination)
		}
		if err != nil {
			return "", false, err
		}
		if !own {
			// Another payee's answer: keep the route's requirements,
			// never their stored values (those are not this payee's).
			clean := make([]masspay.AttrsRequirement, len(reqs))
			for i, q := range reqs {
				q.Value, q.AttrSetToken, q.LastAttrValueUsed = "", "", false
				clean[i] = q
			}
			reqs = clean
		}
		d.reqs[key] = reqs
	}
	_, _, problem = routing.MatchAttributes(reqs, r.Attrs)
	return problem, true, nil
}

// payee is the MassPay token of internal_user_id: the ledger's cache, else a
// lookup (never a creation); "" when MassPay does not know the payee.
func (d *detailChecker) payee(ctx context.Context, internalID string) (string, error) {
	if tok, ok := d.payees[internalID]; ok {
		return tok, nil
	}
	tok := ""
	if d.led != nil {
		t, ok, err := d.led.UserToken(ctx, internalID)
		if err != nil {
			return "", err
		}
		if ok {
			tok = t
			d.cached(t)
		}
	}
	if tok == "" && d.lookups >= planLookupBudget {
		// Past the budget a payee MassPay may hold details for is left
		// to the run rather than guessed at.
		d.payees[internalID] = payeeUnknown
		return payeeUnknown, nil
	}
	if tok == "" {
		d.lookups++
		found, err := d.api.LookupUser(ctx, masspay.LookupUserParams{InternalUserID: internalID})
		switch {
		case errors.Is(err, masspay.ErrNotFound):
		case err != nil:
			return "", err
		case found != nil:
			tok = found.UserToken
		}
	}
	d.payees[internalID] = tok
	if tok != "" && d.known == "" {
		d.known = tok
	}
	return tok, nil
}

// knownPayee is a payee MassPay knows: one met in this plan, else the one
// the ledger cached last; "" when there is none.
func (d *detailChecker) knownPayee(ctx context.Context) (string, error) {
	if d.known == "" && d.led != nil {
		tok, _, err := d.led.AnyUserToken(ctx)
		if err != nil {
			return "", err
		}
		if !d.anyStale {
			d.known = tok
			d.cached(tok)
		}
	}
	return d.known, nil
}

// cached marks tok as read from the ledger's cache, not from MassPay in
// this plan: a 404 through it means the cache is stale, not the row.
func (d *detailChecker) cached(tok string) {
	if tok == "" {
		return
	}
	if d.stale == nil {
		d.stale = map[string]bool{}
	}
	if _, seen := d.stale[tok]; !seen {
		d.stale[tok] = true
	}
}

// lookUpAgain replaces the row's payee's cached token stale, which MassPay
// answered 404 for, with what a lookup finds now ("" when MassPay does not
// know the payee: the run creates them), and updates the ledger's cache.
// A token is looked up again at most once.
func (d *detailChecker) lookUpAgain(ctx context.Context, r sheet.Row, stale string) error {
	internalID := r.InternalUserID
	d.stale[stale] = false
	if d.known == stale {
		d.known = ""
	}
	d.anyStale = true
	d.lookups++
	tok := ""
	found, err := d.api.LookupUser(ctx, masspay.LookupUserParams{InternalUserID: internalID})
	switch {
	case errors.Is(err, masspay.ErrNotFound):
	case err != nil:
		return err
	case found != nil:
		tok = found.UserToken
	}
	d.payees[internalID] = tok
	if tok != "" && tok != stale {
		d.stale[tok] = false
		if d.known == "" {
			d.known = tok
		}
		if err := d.led.PutUserToken(ctx, internalID, tok, r.Email); err != nil {
			return err
		}
	}
	return nil
}
