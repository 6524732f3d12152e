package batch

// Intents and their outcomes: the exact request bytes recorded under their
// key before every call that moves money, and settling a call whose outcome
// is unknown (re-send with the same key, or ask MassPay).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

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
	reason := fmt.Sprintf("Internal error: MassPay refused Idempotency-Key %s as reused with a different request (%s); the first request under it may have moved money.", key, routing.ErrorText(err))
	// Only steps a command does: no command marks a row paid or releases
	// it, and re-runs never send its key again.
	action := fmt.Sprintf("Do not pay this row by hand. Look up %s in the MassPay dashboard (the payee's loads and payouts). If it was paid or loaded, nothing more is owed: leave this row as it is (no re-run sends it again). If not, put the payment in a sheet under a new client_transfer_id and run that sheet.", row.ID)
	return r.move(ctx, row, ledger.StateNeedsAction, ledger.RowUpdate{
		LastError: &reason, ActionNeeded: &action, InternalError: strp("IDEMPOTENCY_KEY_REUSED " + key),
	}, ledger.Event{Kind: ledger.EventInternalError, IdempotencyKey: key, HTTPStatus: httpStatus(err),
		Message: reason, Data: requestData(key, body)})
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
			KYCUploadLink: nonEmpty(link), LastError: strp(routing.ErrorText(err)),
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
	case notDone(err):
		return row, fmt.Errorf("%s: %w: %v", what, errNotDone, err)
	case outcomeUnclear(err):
		r.recordUnknown(ctx, row, key, what, err)
		return row, fmt.Errorf("%s: %w: %v", what, errUnknownOutcome, err)
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
		return r.fail(ctx, row, key, refusal(what, err))
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
		IdempotencyKey: key, HTTPStatus: httpStatus(err), Message: "outcome unknown (" + what + "): " + routing.ErrorText(err),
	}); aerr != nil {
		r.Log.Error().Err(aerr).Str("client_transfer_id", row.ID).Msg("record unknown outcome")
	}
}
