package autopay

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/masspay"
)

// AutopayAPI is the part of MassPay that autopay rules, wallets and their
// routes need. *masspay.Client satisfies it.
type AutopayAPI interface {
	LookupUser(ctx context.Context, p masspay.LookupUserParams) (*masspay.FoundUser, error)
	Wallets(ctx context.Context, userToken string) ([]masspay.Wallet, error)
	AutopayRules(ctx context.Context, userToken, walletToken string) ([]masspay.AutopayRule, error)
	AddAutopayRule(ctx context.Context, idempotencyKey, userToken, walletToken string, rule masspay.AutopayRuleTxn) (*masspay.AutopayRule, error)
	DeleteAutopayRule(ctx context.Context, idempotencyKey, userToken, walletToken, ruleToken string) error
	PreferredRoutes(ctx context.Context, countryCode string, p masspay.RouteParams) (*masspay.CountryServices, error)
	Service(ctx context.Context, destinationToken string) (*masspay.Service, error)
	Attributes(ctx context.Context, userToken, destinationToken, currency string) ([]masspay.AttrsRequirement, error)
	StoreAttributes(ctx context.Context, idempotencyKey, userToken, destinationToken, currency string, t masspay.AttrTxn) (*masspay.AttrTxnResp, error)
}

var _ AutopayAPI = (*masspay.Client)(nil)

// Errors of autopay rules that a person must resolve; EnsureAutopayRule
// returns them wrapped with the detail, and the runner shows them as the
// row's next step rather than retrying.
var (
	// ErrAutopayPercentage: a percentage not in (0, 100].
	ErrAutopayPercentage = errors.New("autopay percentage out of range")
	// ErrAutopayTotal: the wallet's rules would send more than 100% of a load.
	ErrAutopayTotal = errors.New("autopay rules would exceed 100% of a load")
	// ErrAutopayRuleDiffers: the wallet already has a rule to the route with
	// another percentage; changing it is `payrun autopay apply`'s job.
	ErrAutopayRuleDiffers = errors.New("autopay rule to this route exists with another percentage")
	// ErrAutopayNoRoute: MassPay offers no route for the rule's columns.
	ErrAutopayNoRoute = errors.New("no route for autopay rule")
	// ErrAutopayDetails: the route needs payee details the sheet lacks.
	ErrAutopayDetails = errors.New("autopay route needs payee details")
	// ErrAutopayNoWallet: the payee has no wallet in the rule's currency yet.
	ErrAutopayNoWallet = errors.New("payee has no wallet in this currency")
	// ErrAutopayUnknownPayee: MassPay does not know the payee.
	ErrAutopayUnknownPayee = errors.New("payee unknown to MassPay")
)

// resolvedRoute is a rule's route as MassPay names it.
type resolvedRoute struct {
	masspay.Route
	// Currency is the currency the payee receives, which MassPay keys the
	// route's payee details by.
	Currency string
}

// describe names the route for a person: "MEX BANK_DEPOSIT Bank Deposit (dst_...)".
func (r resolvedRoute) describe() string {
	s := strings.TrimSpace(strings.Join([]string{r.CountryCode, r.DeliveryType, r.PayerName}, " "))
	if s == "" {
		return r.DestinationToken
	}
	return s + " (" + r.DestinationToken + ")"
}

// resolveAutopayRoute finds the destination of rt for a rule on a wallet in
// walletCurrency. It only reads.
func resolveAutopayRoute(ctx context.Context, api AutopayAPI, userToken, walletCurrency string, rt AutopayRoute) (resolvedRoute, error) {
	if rt.DestinationToken != "" {
		svc, err := api.Service(ctx, rt.DestinationToken)
		if errors.Is(err, masspay.ErrNotFound) {
			return resolvedRoute{}, fmt.Errorf("%w: MassPay does not know destination_token %s", ErrAutopayNoRoute, rt.DestinationToken)
		}
		if err != nil {
			return resolvedRoute{}, fmt.Errorf("look up destination %s: %w", rt.DestinationToken, err)
		}
		for _, p := range svc.Payers {
			if p.DestinationToken == rt.DestinationToken {
				out := resolvedRoute{Route: masspay.Route{CountryCode: svc.CountryCode, DeliveryType: svc.DeliveryType, Payer: p}}
				out.Currency = routeCurrency(out.Route, rt.DestinationCurrency, svc.CountryCode)
				return out, nil
			}
		}
		return resolvedRoute{}, fmt.Errorf("%w: MassPay does not list destination_token %s", ErrAutopayNoRoute, rt.DestinationToken)
	}
	p := masspay.RouteParams{
		SourceCurrency: walletCurrency, DestinationCurrency: rt.DestinationCurrency,
		UserToken: userToken, OnlyGenericPayers: rt.PayerName == "",
	}
	if rt.PayerName != "" {
		p.PayerNames = []string{rt.PayerName}
	}
	cs, err := api.PreferredRoutes(ctx, rt.Country, p)
	if err != nil {
		return resolvedRoute{}, fmt.Errorf("find routes to %s: %w", rt.Country, err)
	}
	for _, r := range cs.Routes() {
		if rt.DeliveryType != "" && !strings.EqualFold(r.DeliveryType, rt.DeliveryType) {
			continue
		}
		if rt.PayerName != "" && !strings.EqualFold(r.PayerName, rt.PayerName) {
			continue
		}
		if !routing.Pays(r, rt.DestinationCurrency) {
			continue
		}
		if r.CountryCode == "" {
			r.CountryCode = rt.Country
		}
		return resolvedRoute{Route: r, Currency: routeCurrency(r, rt.DestinationCurrency, rt.Country)}, nil
	}
	return resolvedRoute{}, fmt.Errorf("%w: MassPay offers no route for %s from a %s wallet", ErrAutopayNoRoute, rt, walletCurrency)
}

// routeCurrency is the currency a route pays in: the one asked for, else the
// route's only quoted currency, else the country's.
func routeCurrency(r masspay.Route, asked, country string) string {
	if asked != "" {
		return asked
	}
	if len(r.ExchangeRate) > 0 {
		return strings.ToUpper(r.ExchangeRate[0].CurrencySymbol)
	}
	if c, ok := sheet.LookupCountry(country); ok {
		return c.Currency
	}
	return ""
}

// autopayDetails reads what the route needs of the payee and returns the
// values to store from attrs, and the attribute set already stored (when
// nothing new needs storing). A required detail that is neither stored nor
// given, or a value MassPay's pattern refuses, is ErrAutopayDetails. It only
// reads; values are never logged.
func autopayDetails(ctx context.Context, api AutopayAPI, userToken string, rt resolvedRoute, attrs map[string]string) ([]masspay.AttrValue, string, error) {
	reqs, err := api.Attributes(ctx, userToken, rt.DestinationToken, rt.Currency)
	if err != nil {
		return nil, "", fmt.Errorf("read payee details for %s: %w", rt.describe(), err)
	}
	values, stored, problem := routing.MatchAttributes(reqs, attrs)
	if problem != "" {
		return nil, "", fmt.Errorf("%w: %s", ErrAutopayDetails, problem)
	}
	return values, stored, nil
}

// storeAutopayDetails stores values (if any) under key and returns the
// attribute set the rule references.
func storeAutopayDetails(ctx context.Context, api AutopayAPI, key, userToken string, rt resolvedRoute, values []masspay.AttrValue, stored string) (string, error) {
	if len(values) == 0 {
		return stored, nil
	}
	resp, err := api.StoreAttributes(ctx, key, userToken, rt.DestinationToken, rt.Currency, masspay.AttrTxn{Values: values, AttrSetToken: stored})
	if err != nil {
		var apiErr *masspay.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == 400 {
			return "", fmt.Errorf("%w: MassPay refused them: %s", ErrAutopayDetails, routing.ErrorText(err))
		}
		return "", fmt.Errorf("store payee details for %s: %w", rt.describe(), err)
	}
	return resp.AttrSetToken, nil
}

// walletIn returns the payee's wallet in currency.
func walletIn(ctx context.Context, api AutopayAPI, userToken, currency string) (masspay.Wallet, error) {
	ws, err := api.Wallets(ctx, userToken)
	if err != nil {
		return masspay.Wallet{}, fmt.Errorf("list wallets: %w", err)
	}
	for _, w := range ws {
		if strings.EqualFold(w.CurrencyCode, currency) && w.Type != masspay.WalletMassPayCard {
			return w, nil
		}
	}
	return masspay.Wallet{}, fmt.Errorf("%w: the payee has no %s wallet yet; MassPay opens it with the first %s load", ErrAutopayNoWallet, currency, currency)
}
