package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
	"github.com/payrun/payrun/masspay"
)

// errUnknownOutcome marks a call whose effect at MassPay is unknown (lost
// answer, 5xx, timeout after the bytes left) or that MassPay asked us to
// repeat later (429). The row stays where it is and the same request, with
// the same Idempotency-Key, is sent again.
var errUnknownOutcome = errors.New("outcome unknown")

// quoteLifetime is how long MassPay honours an initiated payout's quote; the
// runner starts a fresh quote rather than commit one this close to lapsing.
const (
	quoteLifetime = 2 * time.Minute
	quoteMargin   = 15 * time.Second
)

// step moves row one state forward and returns it as the ledger now has it.
func (r *Runner) step(ctx context.Context, row ledger.Row) (ledger.Row, error) {
	data, err := rowData(row)
	return r.stepData(ctx, row, data, err)
}

// stepData is step with the row's sheet data already rebuilt (dataErr is
// rowData's error): payRow rebuilds it once per row, not once per step,
// because the sheet cells never change while a row is worked.
func (r *Runner) stepData(ctx context.Context, row ledger.Row, data sheet.Row, dataErr error) (ledger.Row, error) {
	if dataErr != nil {
		return r.fail(ctx, row, "", fmt.Sprintf("the row recorded in the ledger cannot be read: %v", dataErr))
	}
	switch row.State {
	case ledger.StateNew:
		return r.stepUser(ctx, row, data)
	case ledger.StateUserReady:
		if data.Method == sheet.MethodLoad {
			return r.stepLoadIntent(ctx, row, data)
		}
		return r.stepRoute(ctx, row, data)
	case ledger.StateLoadSent:
		return r.sendLoad(ctx, row, data)
	case ledger.StateRouteReady:
		return r.stepInitiateIntent(ctx, row, data)
	case ledger.StateInitiating:
		return r.sendInitiate(ctx, row, data)
	case ledger.StateInitiated:
		return r.stepCommitIntent(ctx, row)
	case ledger.StateCommitting:
		return r.sendCommit(ctx, row, data)
	}
	return row, fmt.Errorf("step row %s: no step from state %s", row.ID, row.State)
}

func (r *Runner) stepUser(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	if data.Method == sheet.MethodLoad {
		// Month two: the payee is known, so the load's intent (with the
		// token) is this row's first durable write, one commit fewer.
		if token, ok, err := r.Ledger.UserToken(ctx, data.InternalUserID); err == nil && ok {
			row.UserToken = token
			return r.stepLoadIntentAs(ctx, row, data, &token)
		}
	}
	token, err := r.ensureUser(ctx, row.ID, data)
	var na *needsActionError
	if errors.As(err, &na) {
		return r.needsAction(ctx, row, ledger.RowUpdate{}, na.reason, na.action)
	}
	if err != nil {
		return r.settle(ctx, row, "", "create or find the payee", err)
	}
	return r.move(ctx, row, ledger.StateUserReady, ledger.RowUpdate{UserToken: &token}, ledger.Event{Message: "payee " + token})
}

func (r *Runner) stepLoadIntent(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	return r.stepLoadIntentAs(ctx, row, data, nil)
}

// stepLoadIntentAs records the load intent; userToken, when set, is written
// in the same transition (the new -> load_sent shortcut).
func (r *Runner) stepLoadIntentAs(ctx context.Context, row ledger.Row, data sheet.Row, userToken *string) (ledger.Row, error) {
	if row2, stop, err := r.refuseIfHalted(ctx, row, data.SourceCurrency); stop {
		return row2, err
	}
	if _, ok := r.sourceToken(data.SourceCurrency); !ok {
		return r.needsAction(ctx, row, ledger.RowUpdate{},
			fmt.Sprintf("The MassPay account has no %s balance to load from.", data.SourceCurrency),
			fmt.Sprintf("Fund a %s balance in MassPay, or change source_currency, and re-run.", data.SourceCurrency))
	}
	body, err := r.loadBody(row, data)
	if err != nil {
		return r.fail(ctx, row, "", fmt.Sprintf("the load request cannot be encoded: %v", err))
	}
	// The intent, with the exact bytes it will send, is durable before the
	// load is sent: a crash after this line re-sends the same bytes with the
	// same key instead of a new request.
	return r.move(ctx, row, ledger.StateLoadSent, ledger.RowUpdate{AddAttempts: 1, UserToken: userToken,
		Request: &ledger.Request{Key: row.LoadKey(), Kind: ledger.RequestLoad, Body: body}},
		ledger.Event{IdempotencyKey: row.LoadKey(), Message: "load intent"})
}

// loadBody encodes the row's load as it is sent. It is called once per key,
// for the intent; every send reads the recorded bytes back.
func (r *Runner) loadBody(row ledger.Row, data sheet.Row) ([]byte, error) {
	src, _ := r.sourceToken(data.SourceCurrency)
	return masspay.EncodeBody(masspay.LoadTxn{
		ClientLoadID:       row.ID,
		SourceToken:        src,
		Amount:             data.Amount,
		SourceCurrencyCode: data.SourceCurrency,
		Notes:              data.Notes,
		NotifyUser:         data.NotifyUser,
		TimeToProcess:      data.TimeToProcess,
		Metadata:           metadataAny(data.Metadata),
	})
}

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

// recorded returns the request recorded with key's intent: the bytes that
// must go out under key. A row whose intent was written by a payrun that did
// not record requests has none; build makes it then, and it is recorded
// before it is sent, so from here on the key has one body.
func (r *Runner) recorded(ctx context.Context, row ledger.Row, key string, kind ledger.RequestKind, build func() ([]byte, error)) (ledger.Request, error) {
	q, err := r.Ledger.Request(ctx, row.ID, key)
	if err == nil {
		return q, nil
	}
	if !errors.Is(err, ledger.ErrNotFound) {
		return ledger.Request{}, fmt.Errorf("%w: read the recorded request %s: %v", ErrAborted, key, err)
	}
	var body []byte
	if build != nil {
		if body, err = build(); err != nil {
			return ledger.Request{}, fmt.Errorf("encode request %s: %w", key, err)
		}
	}
	q, err = r.Ledger.RecordRequest(ctx, row.ID, ledger.Request{Key: key, Kind: kind, Body: body})
	if err != nil {
		return ledger.Request{}, fmt.Errorf("%w: record request %s: %v", ErrAborted, key, err)
	}
	return q, nil
}

// freshQuote is the request of quote seq's initiate under client_transfer_id
// ctid: the previous quote's recorded bytes (the quote is fresh, the payment
// the same; a sheet re-ingested since must not change it), with only
// client_transfer_id replaced when the row has moved to a derived id
// (duplicateNotFound); without a record, the row's body built now.
func (r *Runner) freshQuote(ctx context.Context, row ledger.Row, seq int, ctid string) (*ledger.Request, error) {
	key := ledger.PayoutKey(row.ID, seq)
	prev, err := r.Ledger.Request(ctx, row.ID, ledger.PayoutKey(row.ID, row.QuoteSeq))
	switch {
	case err == nil:
		body, err := withTransferID(prev.Body, ctid)
		if err != nil {
			return nil, fmt.Errorf("%w: the recorded request of quote %d: %v", ErrAborted, row.QuoteSeq, err)
		}
		return &ledger.Request{Key: key, Kind: ledger.RequestInitiate, Body: body}, nil
	case !errors.Is(err, ledger.ErrNotFound):
		return nil, fmt.Errorf("%w: read the recorded request of quote %d: %v", ErrAborted, row.QuoteSeq, err)
	}
	data, err := rowData(row)
	if err != nil {
		return nil, fmt.Errorf("read the row recorded in the ledger: %w", err)
	}
	body, err := r.payoutBody(row, data, ctid)
	if err != nil {
		return nil, err
	}
	return &ledger.Request{Key: key, Kind: ledger.RequestInitiate, Body: body}, nil
}

// withTransferID returns the recorded payout body with its
// client_transfer_id set to ctid: the same bytes when it already is, else
// the body with that one field replaced. Every other field keeps its
// recorded bytes (json.RawMessage), so no amount is re-encoded.
func withTransferID(body []byte, ctid string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var cur string
	if raw, ok := fields["client_transfer_id"]; ok {
		if err := json.Unmarshal(raw, &cur); err != nil {
			return nil, fmt.Errorf("decode client_transfer_id: %w", err)
		}
	}
	if cur == ctid {
		return body, nil
	}
	raw, err := json.Marshal(ctid)
	if err != nil {
		return nil, err
	}
	fields["client_transfer_id"] = raw
	return json.Marshal(fields)
}

// requestData is the JSON evidence a refused key's event carries: the key
// and the SHA-256 of the bytes sent under it (never the bytes, which hold
// the payee's data). Intents get theirs from the ledger.
func requestData(key string, body []byte) json.RawMessage {
	b, err := json.Marshal(ledger.RequestEvidence{Key: key, BodySHA256: ledger.BodyHash(body)})
	if err != nil {
		return nil
	}
	return b
}

// keyReused stops a row whose key MassPay refused as reused with another
// request (422 IDEMPOTENCY_KEY_REUSED). The key was sent before, so its
// first request may have moved money: FAILED would invite a payment by hand.
// The row goes to NEEDS_ACTION marked as an internal error, which no re-run
// retries or replaces on its own, with the key and the hash of the recorded
// bytes in its event.
func (r *Runner) keyReused(ctx context.Context, row ledger.Row, key string, body []byte, err error) (ledger.Row, error) {
	reason := fmt.Sprintf("Internal error: MassPay refused Idempotency-Key %s as reused with a different request (%s); the first request under it may have moved money.", key, errText(err))
	action := fmt.Sprintf("Do not pay this row by hand. Look up %s in the MassPay dashboard: if it was paid or loaded, record it; if not, re-enter the row under a new client_transfer_id.", row.ID)
	return r.move(ctx, row, ledger.StateNeedsAction, ledger.RowUpdate{
		LastError: &reason, ActionNeeded: &action, InternalError: strp("IDEMPOTENCY_KEY_REUSED " + key),
	}, ledger.Event{Kind: ledger.EventInternalError, IdempotencyKey: key, HTTPStatus: httpStatus(err),
		Message: reason, Data: requestData(key, body)})
}

func (r *Runner) sendLoad(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	key := row.LoadKey()
	req, err := r.recorded(ctx, row, key, ledger.RequestLoad, func() ([]byte, error) { return r.loadBody(row, data) })
	if err != nil {
		return row, err
	}
	if next, settled, err := r.askFirst(ctx, row, data, callLoad, key); settled {
		return next, err
	}
	faultpoint.Hit("api.load.before")
	resp, err := r.API.LoadBody(ctx, key, row.UserToken, req.Body)
	faultpoint.Hit("api.load.after")
	if err != nil {
		return r.settleMoney(ctx, row, data, callLoad, key, "load the payee's wallet", err)
	}
	to := ledger.StateLoaded
	switch resp.Status {
	case masspay.LoadScheduled:
		to = ledger.StateScheduled
	case masspay.LoadCancelled:
		return r.fail(ctx, row, key, "MassPay cancelled the load")
	}
	amt := data.Amount
	fee := decimal.Zero
	next, err := r.move(ctx, row, to, ledger.RowUpdate{
		LoadToken: &resp.LoadToken, WalletToken: &resp.WalletToken, MasspayStatus: &resp.Status,
		SourceAmount: &amt, DestinationAmount: &amt, Fee: &fee,
	}, ledger.Event{IdempotencyKey: key, MasspayStatus: resp.Status, Message: "loaded " + resp.LoadToken})
	if err != nil || to != ledger.StateLoaded || data.AutopayPercentage == nil {
		return next, err
	}
	// A crash here leaves the row LOADED without its rule; the end of the
	// next run (settleAutopay) sets it up.
	faultpoint.Hit("autopay.before")
	return r.ensureAutopay(ctx, next, data)
}

// ensureAutopay sets up the payee's autopay rule a loaded row asks for
// (autopay_percentage). The money has moved already, so a rule MassPay
// refuses leaves the row LOADED with the next step for a person. A failure
// that may pass (the network, MassPay busy, the run stopping) leaves the row
// as it is: settleAutopay tries again at the end of this run or the next.
func (r *Runner) ensureAutopay(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	api, ok := r.API.(AutopayAPI)
	if !ok {
		return row, nil
	}
	err := EnsureAutopayRule(ctx, api, r.Ledger, row.UserToken, data, row.WalletToken)
	if err == nil {
		// An outcome for every row, also when the rule was there already, so
		// settleAutopay never asks MassPay about this row again.
		d := autopayEventData{Action: "ensure", UserToken: row.UserToken, WalletToken: row.WalletToken,
			Percentage: data.AutopayPercentage.String(), SheetLine: data.Line}
		if rerr := recordAutopay(ctx, r.Ledger, row.ID, row.ID+"#autopay", autopayDone, "autopay rule in place", d); rerr != nil {
			r.Log.Error().Err(rerr).Str("client_transfer_id", row.ID).Msg("record autopay rule in place")
		}
		return row, nil
	}
	if errors.Is(err, masspay.ErrUnauthorized) {
		return row, fmt.Errorf("%w: MassPay refused the API key (autopay rule)", ErrAborted)
	}
	if mayPass(err) {
		r.Log.Warn().Err(err).Str("client_transfer_id", row.ID).Msg("autopay rule not set up yet; the run retries it at its end, or the next run does")
		return row, nil
	}
	action := "The wallet was loaded, but its autopay rule was not set up: " + err.Error() + ". Fix it in an autopay sheet and run payrun autopay apply."
	next, merr := r.Ledger.Transition(ctx, row.ID, row.State, row.State, ledger.RowUpdate{ActionNeeded: &action}, ledger.Event{Message: "autopay rule not set up: " + err.Error()})
	if merr != nil {
		r.Log.Error().Err(merr).Str("client_transfer_id", row.ID).Msg("record autopay failure")
		return row, nil
	}
	return next, nil
}

// mayPass reports whether err may not happen on a later try: the outcome
// was unknown, MassPay was busy or failing, or the run was stopping. A
// definite refusal (a 4xx answer, or one of the ErrAutopay checks) will not.
func mayPass(err error) bool {
	var apiErr *masspay.APIError
	switch {
	case outcomeUnclear(err):
		return true
	case errors.As(err, &apiErr):
		return apiErr.StatusCode >= 500
	}
	for _, refusal := range []error{ErrAutopayPercentage, ErrAutopayTotal, ErrAutopayRuleDiffers,
		ErrAutopayNoRoute, ErrAutopayDetails, ErrAutopayNoWallet} {
		if errors.Is(err, refusal) {
			return false
		}
	}
	return true
}

// settleAutopay sets up the autopay rules of run runID's loaded rows that
// have none recorded: the process stopped or crashed between the load and
// the rule, or the rule failed in a way that may pass. A row whose rule
// needs a person (its action_needed says so) is left to them.
func (r *Runner) settleAutopay(ctx context.Context, runID int64) error {
	if _, ok := r.API.(AutopayAPI); !ok {
		return nil
	}
	for row, err := range r.Ledger.Rows(ctx, ledger.RowFilter{RunID: runID, States: []ledger.State{ledger.StateLoaded}}) {
		if err != nil {
			return fmt.Errorf("list loaded rows: %w", err)
		}
		if row.ActionNeeded != "" {
			continue
		}
		data, err := rowData(row)
		if err != nil || data.AutopayPercentage == nil {
			continue
		}
		settled := false
		for ev, err := range r.Ledger.Events(ctx, ledger.EventFilter{TransferID: row.ID, Kind: EventAutopay}) {
			if err != nil {
				return fmt.Errorf("read autopay events of %s: %w", row.ID, err)
			}
			if autopaySettled(ev) {
				settled = true
				break
			}
		}
		if settled {
			continue
		}
		if _, err := r.ensureAutopay(ctx, row, data); err != nil {
			return err
		}
	}
	return nil
}

// adoptLoad settles a load MassPay may already have (a DUPLICATE, or any
// 409: "maybe loaded"): find it by client_load_id and record it if it is
// this row's money; never load again. A failed look-up, or none found,
// leaves the row in flight: the next attempt asks again before re-sending.
func (r *Runner) adoptLoad(ctx context.Context, row ledger.Row, data sheet.Row, key string) (ledger.Row, error) {
	l, err := r.findLoad(ctx, row)
	if err != nil {
		return r.lookupFailed(ctx, row, key, "look up the payee's loads", err)
	}
	if l == nil {
		return r.stayInFlight(ctx, row, key, "find the load MassPay says exists",
			errors.New("MassPay refused the load as already done (409) but lists no load under this client_load_id"))
	}
	return r.adoptFoundLoad(ctx, row, data, key, *l, "client_load_id already used")
}

func (r *Runner) stepRoute(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	route, err := r.chooseRoute(ctx, row.UserToken, data)
	if err != nil {
		var na *needsActionError
		if errors.As(err, &na) {
			return r.needsAction(ctx, row, ledger.RowUpdate{}, na.reason, na.action)
		}
		return r.settle(ctx, row, "", "find a payout route", err)
	}
	attrSet, err := r.storeAttributes(ctx, row, data, route)
	if err != nil {
		var na *needsActionError
		if errors.As(err, &na) {
			return r.needsAction(ctx, row, ledger.RowUpdate{DestinationToken: &route.DestinationToken}, na.reason, na.action)
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

// adoptPayout settles a payout MassPay already committed under this
// client_transfer_id (it answered DUPLICATE): find it in the payee's history,
// which lists committed transactions only, and record it as paid if it is
// this row's money; never pay again. A failed look-up leaves the row in
// flight; none found is duplicateNotFound's.
func (r *Runner) adoptPayout(ctx context.Context, row ledger.Row, data sheet.Row, key string) (ledger.Row, error) {
	found, err := r.findPayout(ctx, row)
	if err != nil {
		return r.lookupFailed(ctx, row, key, "look up the payee's history", err)
	}
	if found == nil {
		return r.duplicateNotFound(ctx, row, key)
	}
	return r.adoptFoundPayout(ctx, row, data, key, *found, "MassPay answered DUPLICATE")
}

func (r *Runner) stepCommitIntent(ctx context.Context, row ledger.Row) (ledger.Row, error) {
	started := row.QuoteStartedAt
	if started.IsZero() {
		started = row.UpdatedAt // a quote taken before quote_started_at existed
	}
	if r.Clock().Sub(started) > quoteLifetime-quoteMargin {
		// The quote has lapsed (or is about to): commit would only answer
		// ex_rate_expired. Start a fresh quote under the next key.
		return r.moveFreshQuote(ctx, row, "", "quote expired before commit; fresh quote")
	}
	key := ledger.CommitKey(row.ID, row.QuoteSeq)
	return r.move(ctx, row, ledger.StateCommitting, ledger.RowUpdate{
		Request: &ledger.Request{Key: key, Kind: ledger.RequestCommit}},
		ledger.Event{IdempotencyKey: key, Message: "commit intent"})
}

// moveFreshQuote records the intent of the row's next quote, with its
// request, in one transition to initiating.
func (r *Runner) moveFreshQuote(ctx context.Context, row ledger.Row, status, msg string) (ledger.Row, error) {
	seq := row.QuoteSeq + 1
	ctid, err := r.transferID(ctx, row)
	if err != nil {
		return row, fmt.Errorf("%w: %v", ErrAborted, err)
	}
	req, err := r.freshQuote(ctx, row, seq, ctid)
	if err != nil {
		return row, err
	}
	now := r.Clock()
	return r.move(ctx, row, ledger.StateInitiating, ledger.RowUpdate{QuoteSeq: &seq, AddAttempts: 1, QuoteStartedAt: &now, Request: req},
		ledger.Event{IdempotencyKey: req.Key, MasspayStatus: status, Message: msg})
}

func (r *Runner) sendCommit(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.Row, error) {
	key := ledger.CommitKey(row.ID, row.QuoteSeq)
	if _, err := r.recorded(ctx, row, key, ledger.RequestCommit, nil); err != nil {
		return row, err
	}
	if next, settled, err := r.askFirst(ctx, row, data, callCommit, key); settled {
		return next, err
	}
	faultpoint.Hit("api.commit.before")
	resp, err := r.API.CommitPayout(ctx, key, row.UserToken, row.PayoutToken)
	faultpoint.Hit("api.commit.after")
	switch classifyOutcome(callCommit, err, false) {
	case verdictDone:
		st := masspay.StatusPending
		if row.MasspayStatus != "" {
			st = row.MasspayStatus
		}
		return r.move(ctx, row, ledger.StatePaid, ledger.RowUpdate{PickupCode: nonEmpty(resp.PickupCode), MasspayStatus: &st},
			ledger.Event{IdempotencyKey: key, MasspayStatus: resp.Status, Message: "committed " + row.PayoutToken})
	case verdictRequote:
		return r.moveFreshQuote(ctx, row, masspay.CommitExRateExpired, "quote expired at commit; fresh quote")
	}
	if errors.Is(err, masspay.ErrAdditionalAttributes) {
		return r.needsAction(ctx, row, ledger.RowUpdate{},
			"MassPay needs more details about the payee for this route (addtl_attr_req).",
			"Ask the payee for the extra payout details MassPay lists for this route, add them in attr: columns, and re-run.")
	}
	// A definite refusal (status failure) fails the row; an empty or
	// unknown status leaves it in flight (classifyOutcome).
	return r.settleMoney(ctx, row, data, callCommit, key, "commit the payout", err)
}

// settle turns a failed call into the row's next state: unknown outcomes stay
// put (same key next time), definite refusals end the row.
func (r *Runner) settle(ctx context.Context, row ledger.Row, key, what string, err error) (ledger.Row, error) {
	var apiErr *masspay.APIError
	switch {
	case errors.Is(err, masspay.ErrUnauthorized):
		return row, fmt.Errorf("%w: MassPay refused the API key (%s)", ErrAborted, what)
	case errors.Is(err, masspay.ErrKYCHold):
		link := masspay.KYCUploadURL(err)
		return r.move(ctx, row, ledger.StateNeedsAction, ledger.RowUpdate{
			KYCUploadLink: nonEmpty(link), LastError: strp(errText(err)),
			ActionNeeded: strp("The payee is on a MassPay compliance hold. Send them the document-upload link; re-run after MassPay lifts the hold."),
		}, ledger.Event{IdempotencyKey: key, HTTPStatus: httpStatus(err), Message: "compliance hold"})
	case errors.Is(err, masspay.ErrInsufficientFunds):
		cur := ""
		cur = row.SourceCurrency
		r.halt(cur, "insufficient funds")
		return r.needsAction(ctx, row, ledger.RowUpdate{},
			fmt.Sprintf("Not paid: the MassPay %s balance could not cover it.", cur),
			fmt.Sprintf("Add %s funds to the MassPay account and re-run; rows already paid will not be paid again.", cur))
	case errors.Is(err, masspay.ErrIdempotencyKeyReused):
		return r.keyReused(ctx, row, key, nil, err)
	case outcomeUnclear(err):
		r.recordUnknown(ctx, row, key, what, err)
		return row, fmt.Errorf("%s: %w: %v", what, errUnknownOutcome, err)
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
		return r.fail(ctx, row, key, fmt.Sprintf("MassPay refused to %s: %s", what, errText(err)))
	}
	// Anything else (a body we could not read after the call) may have
	// happened at MassPay: treat as unknown, re-send the same key.
	r.recordUnknown(ctx, row, key, what, err)
	return row, fmt.Errorf("%s: %w: %v", what, errUnknownOutcome, err)
}

// outcomeUnclear reports whether a call ended without a definite answer:
// the outcome is unknown, MassPay asked to slow down, or the run stopped.
// The same call, with the same key, may still succeed.
func outcomeUnclear(err error) bool {
	return masspay.IsUnknownOutcome(err) || errors.Is(err, masspay.ErrRateLimited) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (r *Runner) recordUnknown(ctx context.Context, row ledger.Row, key, what string, err error) {
	if _, aerr := r.Ledger.AppendEvent(ctx, ledger.Event{
		TransferID: row.ID, Kind: ledger.EventAPICall, From: row.State, To: row.State,
		IdempotencyKey: key, HTTPStatus: httpStatus(err), Message: "outcome unknown (" + what + "): " + errText(err),
	}); aerr != nil {
		r.Log.Error().Err(aerr).Str("client_transfer_id", row.ID).Msg("record unknown outcome")
	}
}

// refuseIfHalted ends a not-yet-started row when its source currency ran out
// of funds earlier in this run.
func (r *Runner) refuseIfHalted(ctx context.Context, row ledger.Row, currency string) (ledger.Row, bool, error) {
	if _, ok := r.haltedWhy(currency); !ok {
		return row, false, nil
	}
	next, err := r.needsAction(ctx, row, ledger.RowUpdate{},
		fmt.Sprintf("Not started: the MassPay %s balance ran out earlier in this run.", currency),
		fmt.Sprintf("Add %s funds to the MassPay account and re-run; rows already paid will not be paid again.", currency))
	return next, true, err
}

func (r *Runner) needsAction(ctx context.Context, row ledger.Row, upd ledger.RowUpdate, reason, action string) (ledger.Row, error) {
	upd.LastError = &reason
	upd.ActionNeeded = &action
	return r.move(ctx, row, ledger.StateNeedsAction, upd, ledger.Event{Message: reason})
}

func (r *Runner) fail(ctx context.Context, row ledger.Row, key, reason string) (ledger.Row, error) {
	return r.move(ctx, row, ledger.StateFailed, ledger.RowUpdate{LastError: &reason},
		ledger.Event{IdempotencyKey: key, Message: reason})
}

// move records a transition (compare-and-set on the row's current state).
func (r *Runner) move(ctx context.Context, row ledger.Row, to ledger.State, upd ledger.RowUpdate, ev ledger.Event) (ledger.Row, error) {
	next, err := r.Ledger.Transition(ctx, row.ID, row.State, to, upd, ev)
	if err != nil {
		if errors.Is(err, ledger.ErrStaleState) {
			return row, err
		}
		return row, fmt.Errorf("%w: record %s -> %s for %s: %v", ErrAborted, row.State, to, row.ID, err)
	}
	return next, nil
}

// needsActionError is a row problem a person must fix before the row can be
// paid (no route, a missing payout detail).
type needsActionError struct{ reason, action string }

func (e *needsActionError) Error() string { return e.reason }

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

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func strp(s string) *string { return &s }

func httpStatus(err error) int {
	var apiErr *masspay.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// errText is an error's message for a person; APIError strings never carry
// the API key.
func errText(err error) string {
	var apiErr *masspay.APIError
	if errors.As(err, &apiErr) {
		msg := apiErr.Message
		if apiErr.Reason != "" && !strings.Contains(msg, apiErr.Reason) {
			msg = strings.TrimSpace(msg + " (" + apiErr.Reason + ")")
		}
		if msg == "" {
			msg = apiErr.Title
		}
		var extra []string
		for _, d := range apiErr.Details {
			if !strings.Contains(msg, d) {
				extra = append(extra, d)
			}
		}
		if len(extra) > 0 {
			msg += ": " + strings.Join(extra, "; ")
		}
		return msg
	}
	return err.Error()
}
