package batch

// Payout quote family: user_ready -> route_ready (best route, required
// attributes) -> initiating -> initiated (a quote that must be committed
// within 2 minutes).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
	"github.com/payrun/payrun/masspay"
)

// payoutBody encodes the row's initiate as it is sent: once per row that
// left new; fresh quotes reuse the previous quote's bytes (freshQuote).
func (r *Runner) payoutBody(row ledger.Row, data sheet.Row, clientTransferID string) ([]byte, error) {
	src, _ := r.sourceToken(data.SourceCurrency)
	txn := masspay.PayoutTxn{
		ClientTransferID:        clientTransferID,
		SourceCurrencyCode:      data.SourceCurrency,
		DestinationCurrencyCode: data.DestinationCurrency,
		SourceToken:             src,
		DestinationToken:        row.DestinationToken,
		AttrSetToken:            row.AttrSetToken,
		Metadata:                metadataAny(data.Metadata),
		NotifyUser:              data.NotifyUser,
	}
	amt := data.Amount
	if data.AmountIs == sheet.AmountIsDestination {
		txn.DestinationAmount = &amt
	} else {
		txn.SourceAmount = &amt
	}
	return masspay.EncodeBody(txn)
}

func (r *Runner) stepRoute(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	// Month two: the payee's tokens from the last committed payout with
	// the same details (step_route_cache.go) skip the route and attribute
	// calls.
	if upd, ok, err := r.cachedRoute(ctx, row, data); err != nil {
		return row, err
	} else if ok {
		payer := ""
		if upd.PayerName != nil {
			payer = *upd.PayerName
		}
		return r.move(ctx, row, ledger.StateRouteReady, upd,
			ledger.Event{Message: msgRouteCached + strings.TrimSpace(payer+" "+data.DeliveryType)})
	}
	upd, na, what, err := r.fullRoute(ctx, row, data)
	if na != nil {
		return r.needsAction(ctx, row, upd, na.reason, na.action)
	}
	if err != nil {
		if next, handled, ferr := r.freshPayee(ctx, row, data, err); handled {
			return next, ferr
		}
		return r.settle(ctx, row, "", what, err)
	}
	return r.move(ctx, row, ledger.StateRouteReady, upd, ledger.Event{Message: msgRouteFull + *upd.PayerName + " " + *upd.DeliveryType})
}

// fullRoute is the route a payout row takes without the cache: the route
// (chooseRoute) and its required attributes, read and stored. A person's
// problem (no route, details missing or refused) comes back as na, with
// upd holding the destination when it was found; a failed call comes back
// as err, with what names it.
func (r *Runner) fullRoute(ctx context.Context, row ledger.Row, data sheet.Row) (upd ledger.RowUpdate, na *needsActionError, what string, err error) {
	route, err := r.chooseRoute(ctx, row.UserToken, data)
	if err != nil {
		if errors.As(err, &na) {
			return ledger.RowUpdate{}, na, "", nil
		}
		return ledger.RowUpdate{}, nil, "find a payout route", err
	}
	attrSet, err := r.storeAttributes(ctx, row, data, route)
	if err != nil {
		if errors.As(err, &na) {
			return ledger.RowUpdate{DestinationToken: &route.DestinationToken}, na, "", nil
		}
		return ledger.RowUpdate{}, nil, "store the payee's payout details", err
	}
	upd = ledger.RowUpdate{
		DestinationToken: &route.DestinationToken, AttrSetToken: &attrSet,
		PayerName: &route.PayerName, DeliveryType: &route.DeliveryType, CountryCode: &route.CountryCode,
	}
	if !route.Fee.IsZero() {
		fee := route.Fee
		upd.Fee = &fee
	}
	return upd, nil, "", nil
}

func (r *Runner) stepInitiateIntent(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	if row2, stop, err := r.refuseIfHalted(ctx, row, data.SourceCurrency); stop {
		return row2, err
	}
	if _, ok := r.sourceToken(data.SourceCurrency); !ok {
		return r.needsAction(ctx, row, ledger.RowUpdate{},
			fmt.Sprintf("The MassPay account has no %s balance to pay from.", data.SourceCurrency),
			fmt.Sprintf("Fund a %s balance in MassPay, or change source_currency, and re-run.", data.SourceCurrency))
	}
	key := ledger.PayoutKey(row.ID, row.QuoteSeq)
	ctid, err := r.transferID(ctx, row)
	if err != nil {
		return row, fmt.Errorf("%w: %v", ErrAborted, err)
	}
	body, err := r.payoutBody(row, data, ctid)
	if err != nil {
		return r.fail(ctx, row, "", fmt.Sprintf("the payout request cannot be encoded: %v", err))
	}
	now := r.Clock()
	return r.move(ctx, row, ledger.StateInitiating, ledger.RowUpdate{AddAttempts: 1, QuoteStartedAt: &now,
		Request: &ledger.Request{Key: key, Kind: ledger.RequestInitiate, Body: body}},
		ledger.Event{IdempotencyKey: key, Message: "initiate intent"})
}

func (r *Runner) sendInitiate(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	key := ledger.PayoutKey(row.ID, row.QuoteSeq)
	req, err := r.recorded(ctx, row, key, ledger.RequestInitiate, func() ([]byte, error) {
		ctid, err := r.transferID(ctx, row)
		if err != nil {
			return nil, err
		}
		return r.payoutBody(row, data, ctid)
	})
	if err != nil {
		return row, err
	}
	if next, settled, err := r.askFirst(ctx, row, data, callInitiate, key); settled {
		return next, err
	}
	faultpoint.Hit("api.initiate.before")
	resp, err := r.API.InitiatePayoutBody(ctx, key, row.UserToken, req.Body)
	faultpoint.Hit("api.initiate.after")
	if err != nil {
		if next, handled, ferr := r.freshPayee(ctx, row, data, err); handled {
			return next, ferr
		}
		if next, handled, ferr := r.fallBackFromCache(ctx, row, data, callInitiate, key, err); handled {
			return next, ferr
		}
		return r.settleMoney(ctx, row, data, callInitiate, key, "start the payout", err)
	}
	return r.move(ctx, row, ledger.StateInitiated, ledger.RowUpdate{
		PayoutToken: &resp.PayoutToken, Fee: &resp.Fee, ExchangeRate: &resp.ExchangeRate,
		SourceAmount: &resp.SourceAmount, DestinationAmount: &resp.DestinationAmount,
		PayerName: nonEmpty(resp.PayerName), DeliveryType: nonEmpty(resp.DeliveryType),
		CountryCode: nonEmpty(resp.CountryCode), EstimatedAvailability: nonEmpty(resp.EstimatedAvailability),
		MasspayStatus: nonEmpty(resp.Status),
	}, ledger.Event{IdempotencyKey: key, MasspayStatus: resp.Status, Message: "quote " + resp.PayoutToken})
}

// chooseRoute picks the destination for a payout row: the row's own
// destination_token, or MassPay's best route for its country, delivery type,
// payer and currencies. It asks PreferredRoutes, not /best alone: a MassPay
// following SDK 2.0.0 has no /best, and every payout row would fail on it.
func (r *Runner) chooseRoute(ctx context.Context, userToken string, data sheet.Row) (masspay.Route, error) {
	if data.DestinationToken != "" {
		svc, err := r.routes.service(ctx, r.API, data.DestinationToken)
		if err != nil {
			return masspay.Route{}, err
		}
		for _, p := range svc.Payers {
			if p.DestinationToken == data.DestinationToken {
				return masspay.Route{CountryCode: svc.CountryCode, DeliveryType: svc.DeliveryType, Payer: p}, nil
			}
		}
		return masspay.Route{DeliveryType: data.DeliveryType, CountryCode: data.Country,
			Payer: masspay.Payer{DestinationToken: data.DestinationToken, PayerName: data.PayerName}}, nil
	}
	p := masspay.RouteParams{
		SourceCurrency:      data.SourceCurrency,
		DestinationCurrency: data.DestinationCurrency,
		UserToken:           userToken,
		OnlyGenericPayers:   data.PayerName == "",
	}
	if data.AmountIs != sheet.AmountIsDestination {
		amt := data.Amount
		p.Amount = &amt
	}
	if data.PayerName != "" {
		p.PayerNames = []string{data.PayerName}
	}
	cs, err := r.routes.preferred(ctx, r.API, data.Country, p)
	if err != nil {
		return masspay.Route{}, err
	}
	for _, rt := range cs.Routes() {
		if data.DeliveryType != "" && !strings.EqualFold(rt.DeliveryType, data.DeliveryType) {
			continue
		}
		if data.PayerName != "" && !strings.EqualFold(rt.PayerName, data.PayerName) {
			continue
		}
		if !routing.Pays(rt, data.DestinationCurrency) {
			continue
		}
		return rt, nil
	}
	what := strings.TrimSpace(data.Country + " " + data.DeliveryType + " " + data.PayerName)
	return masspay.Route{}, &needsActionError{
		reason: fmt.Sprintf("MassPay offers no route for %s in %s.", what, data.DestinationCurrency),
		action: "Choose another delivery_type, payer_name or destination_currency for this payee, or pay them by wallet load (method load), and re-run.",
	}
}

// runRoutes shares route answers among the rows of one run, only where
// MassPay's answer depends on neither the payee nor the amount, or the
// question is asked again word for word. GET /service/{destination_token}
// names no payee and no amount: one call per destination a run. The route
// query (/best, /cheapest) carries the payee's user_token, for which MassPay
// tailors the answer ("custom-tailored to this user", SDK 2.0.0
// CatalogService), and the amount, which sets each payer's fee and which
// payers' limits admit the row: its answer is shared only by rows asking
// with the same payee, amount, currencies, country and payers. Sharing it
// by country and amount band would pick routes for one payee from another's
// answer, and fees quoted for another amount. A nil *runRoutes shares
// nothing.
type runRoutes struct {
	mu       sync.Mutex
	services map[string]*shared[*masspay.Service]
	quotes   map[string]*shared[*masspay.CountryServices]
}

// shared is one answer of a runRoutes question: the first row to ask makes
// the call, rows asking meanwhile wait for it (so the run asks once), and
// a failed call is forgotten, so a later row asks again.
type shared[T any] struct {
	done chan struct{}
	v    T
	err  error
}

// ask returns m[key]'s answer, calling call once for all rows asking.
func ask[T any](ctx context.Context, mu *sync.Mutex, m *map[string]*shared[T], key string, call func() (T, error)) (T, error) {
	mu.Lock()
	if *m == nil {
		*m = map[string]*shared[T]{}
	}
	if e, ok := (*m)[key]; ok {
		mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if e.err == nil {
			return e.v, nil
		}
		return call() // its failure is this row's to settle
	}
	e := &shared[T]{done: make(chan struct{})}
	(*m)[key] = e
	mu.Unlock()
	e.v, e.err = call()
	if e.err != nil {
		mu.Lock()
		delete(*m, key)
		mu.Unlock()
	}
	close(e.done)
	return e.v, e.err
}

func (m *runRoutes) service(ctx context.Context, api API, destination string) (*masspay.Service, error) {
	if m == nil {
		return api.Service(ctx, destination)
	}
	return ask(ctx, &m.mu, &m.services, destination, func() (*masspay.Service, error) { return api.Service(ctx, destination) })
}

func (m *runRoutes) preferred(ctx context.Context, api API, country string, p masspay.RouteParams) (*masspay.CountryServices, error) {
	if m == nil {
		return api.PreferredRoutes(ctx, country, p)
	}
	amount := ""
	if p.Amount != nil {
		amount = p.Amount.String()
	}
	key := strings.Join([]string{country, p.UserToken, p.WalletToken, amount, p.SourceCurrency, p.DestinationCurrency,
		strings.Join(p.PayerNames, "|"), strconv.FormatBool(p.OnlyGenericPayers), strconv.Itoa(p.Limit)}, "\x00")
	return ask(ctx, &m.mu, &m.quotes, key, func() (*masspay.CountryServices, error) { return api.PreferredRoutes(ctx, country, p) })
}

// storeAttributes fills the route's required payout details from the row's
// attr: columns, checks each against MassPay's validation pattern before
// sending, and stores them. Values are never logged.
func (r *Runner) storeAttributes(ctx context.Context, row ledger.Row, data sheet.Row, route masspay.Route) (string, error) {
	reqs, err := r.API.Attributes(ctx, row.UserToken, route.DestinationToken, data.DestinationCurrency)
	if err != nil {
		return "", err
	}
	values, attrSet, problem := routing.MatchAttributes(reqs, data.Attrs)
	if problem != "" {
		return "", &needsActionError{
			reason: "Payout details incomplete: " + problem + ".",
			action: "Fill in the payee's payout details in the attr: columns named here and re-run.",
		}
	}
	if len(values) == 0 {
		return attrSet, nil
	}
	// The key names the content, not just the row: once a first store
	// went through (and a crash or a retried NEEDS_ACTION row comes back
	// here), MassPay lists the attribute set, so the same row sends a
	// different body, which under a fixed key is refused as
	// IDEMPOTENCY_KEY_REUSED and failed the row. Storing details moves no
	// money, so a new key for new content is safe.
	keyParts := []string{route.DestinationToken, data.DestinationCurrency, attrSet}
	for _, v := range values {
		keyParts = append(keyParts, v.Token, v.Value)
	}
	attrKey := row.ID + "#attrs#" + ledger.Fingerprint(keyParts...)[:16]
	resp, err := r.API.StoreAttributes(ctx, attrKey, row.UserToken, route.DestinationToken, data.DestinationCurrency,
		masspay.AttrTxn{Values: values, AttrSetToken: attrSet})
	if err != nil {
		var apiErr *masspay.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == 400 {
			return "", &needsActionError{
				reason: "MassPay refused the payee's payout details: " + routing.ErrorText(err),
				action: "Correct the payee's payout details in the attr: columns and re-run.",
			}
		}
		return "", err
	}
	return resp.AttrSetToken, nil
}

func metadataAny(m map[string]string) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
