package batch

// Payout quote family: user_ready -> route_ready (best route, required
// attributes) -> initiating -> initiated (a quote that must be committed
// within 2 minutes).

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	route, err := r.chooseRoute(ctx, row.UserToken, data)
	if err != nil {
		var na *needsActionError
		if errors.As(err, &na) {
			return r.needsAction(ctx, row, ledger.RowUpdate{}, na.reason, na.action)
		}
		if next, handled, err := r.freshPayee(ctx, row, data, err); handled {
			return next, err
		}
		return r.settle(ctx, row, "", "find a payout route", err)
	}
	attrSet, err := r.storeAttributes(ctx, row, data, route)
	if err != nil {
		var na *needsActionError
		if errors.As(err, &na) {
			return r.needsAction(ctx, row, ledger.RowUpdate{DestinationToken: &route.DestinationToken}, na.reason, na.action)
		}
		if next, handled, err := r.freshPayee(ctx, row, data, err); handled {
			return next, err
		}
		return r.settle(ctx, row, "", "store the payee's payout details", err)
	}
	upd := ledger.RowUpdate{
		DestinationToken: &route.DestinationToken, AttrSetToken: &attrSet,
		PayerName: &route.PayerName, DeliveryType: &route.DeliveryType, CountryCode: &route.CountryCode,
	}
	if !route.Fee.IsZero() {
		fee := route.Fee
		upd.Fee = &fee
	}
	return r.move(ctx, row, ledger.StateRouteReady, upd, ledger.Event{Message: "route " + route.PayerName + " " + route.DeliveryType})
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
		if next, handled, err := r.freshPayee(ctx, row, data, err); handled {
			return next, err
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
		svc, err := r.API.Service(ctx, data.DestinationToken)
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
	cs, err := r.API.PreferredRoutes(ctx, data.Country, p)
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
		if !routePays(rt, data.DestinationCurrency) {
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

func routePays(rt masspay.Route, currency string) bool {
	if currency == "" {
		return true
	}
	for _, x := range rt.ExchangeRate {
		if strings.EqualFold(x.CurrencySymbol, currency) {
			return true
		}
	}
	return len(rt.ExchangeRate) == 0
}

// storeAttributes fills the route's required payout details from the row's
// attr: columns, checks each against MassPay's validation pattern before
// sending, and stores them. Values are never logged.
func (r *Runner) storeAttributes(ctx context.Context, row ledger.Row, data sheet.Row, route masspay.Route) (string, error) {
	reqs, err := r.API.Attributes(ctx, row.UserToken, route.DestinationToken, data.DestinationCurrency)
	if err != nil {
		return "", err
	}
	values, attrSet, problem := matchAttributes(reqs, data.Attrs)
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
				reason: "MassPay refused the payee's payout details: " + errText(err),
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
