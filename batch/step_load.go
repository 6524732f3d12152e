package batch

// Load state family: user_ready (or new, payee cached) -> load_sent ->
// LOADED | SCHEDULED, then the autopay rule a load row asks for.

import (
	"context"
	"errors"
	"fmt"

	"github.com/payrun/payrun/batch/autopay"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

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
		if next, handled, err := r.freshPayee(ctx, row, data, err); handled {
			return next, err
		}
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
	api, ok := r.API.(autopay.AutopayAPI)
	if !ok {
		return row, nil
	}
	err := autopay.EnsureAutopayRule(ctx, api, r.Ledger, row.UserToken, data, row.WalletToken)
	if err == nil {
		// An outcome for every row, also when the rule was there already, so
		// settleAutopay never asks MassPay about this row again.
		d := autopay.EventData{Action: "ensure", UserToken: row.UserToken, WalletToken: row.WalletToken,
			Percentage: data.AutopayPercentage.String(), SheetLine: data.Line}
		if rerr := autopay.Record(ctx, r.Ledger, row.ID, row.ID+"#autopay", autopay.PhaseDone, "autopay rule in place", d); rerr != nil {
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
// definite refusal (a 4xx answer, or one of the autopay.ErrAutopay checks) will not.
func mayPass(err error) bool {
	var apiErr *masspay.APIError
	switch {
	case outcomeUnclear(err):
		return true
	case errors.As(err, &apiErr):
		return apiErr.StatusCode >= 500
	}
	for _, refusal := range []error{autopay.ErrAutopayPercentage, autopay.ErrAutopayTotal, autopay.ErrAutopayRuleDiffers,
		autopay.ErrAutopayNoRoute, autopay.ErrAutopayDetails, autopay.ErrAutopayNoWallet} {
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
	if _, ok := r.API.(autopay.AutopayAPI); !ok {
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
		for ev, err := range r.Ledger.Events(ctx, ledger.EventFilter{TransferID: row.ID, Kind: autopay.EventAutopay}) {
			if err != nil {
				return fmt.Errorf("read autopay events of %s: %w", row.ID, err)
			}
			if autopay.Settled(ev) {
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
