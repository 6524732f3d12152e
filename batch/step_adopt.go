package batch

// Adoption: a load or payout MassPay may already hold under the row's id
// (DUPLICATE, 409). The row records it when it is this row's money and is
// never sent again; a failed look-up leaves it in flight.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

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

// askFirst is the start of every attempt of a money-moving call: when an
// earlier attempt under key had an unknown outcome, or an earlier process
// left the row in flight (it may have sent the call and died before the
// answer), MassPay is asked what happened before anything is re-sent: a
// re-send alone is only safe while MassPay still remembers the key.
// settled is true when the row's next state is decided (next, err); false
// means send (again, same key).
func (r *Runner) askFirst(ctx context.Context, row ledger.Row, data sheet.Row, call moneyCall, key string) (next ledger.Row, settled bool, err error) {
	open, err := r.unresolvedUnknown(ctx, row, key)
	if err != nil {
		return row, true, fmt.Errorf("%w: %v", ErrAborted, err)
	}
	if _, resumed := r.resumed.LoadAndDelete(row.ID); resumed {
		open = true
	}
	if !open {
		return row, false, nil
	}
	if next, settled, err := r.lookUp(ctx, row, data, call, key, true); settled {
		return next, true, err
	}
	// MassPay shows nothing done: the unknown attempt did not move money,
	// so the re-send's answer is definite again.
	if _, aerr := r.Ledger.AppendEvent(ctx, ledger.Event{TransferID: row.ID, Kind: ledger.EventAPICall,
		From: row.State, To: row.State, IdempotencyKey: key, Message: msgAskedNothing}); aerr != nil {
		return row, true, fmt.Errorf("%w: record look-up of %s: %v", ErrAborted, row.ID, aerr)
	}
	return row, false, nil
}

// lookUp asks MassPay whether the row's load or payout exists (the payee's
// loads by client_load_id; the payee's history by payout token or
// client_transfer_id) and settles the row from what it shows: adopted if it
// is the row's money, CONFLICT if it is other money under the id, in flight
// if the look-up failed. settled is false when MassPay shows nothing, and,
// unless strict, when the look-up was refused because the payee is on a
// compliance hold or unknown to MassPay (404): a refusal being confirmed then
// stands, as the payee's lists are closed to us or there is no payee to hold
// money. Any other failed look-up (a 400 or 409 a proxy made up, a 5xx, a
// reset) shows nothing about the money, so the row stays in flight: the
// hostile torture family found a commit applied behind a made-up 400 whose
// look-up also got a 400, and the row went FAILED.
func (r *Runner) lookUp(ctx context.Context, row ledger.Row, data sheet.Row, call moneyCall, key string, strict bool) (next ledger.Row, settled bool, err error) {
	failed := func(what string, lerr error) (ledger.Row, bool, error) {
		var apiErr *masspay.APIError
		if !strict && !outcomeUnclear(lerr) && errors.As(lerr, &apiErr) &&
			(errors.Is(lerr, masspay.ErrKYCHold) || apiErr.StatusCode == http.StatusNotFound) {
			return row, false, nil
		}
		// A payee MassPay does not know holds no money: a stale cached
		// token moves the row onto the payee MassPay knows now.
		if next, handled, err := r.freshPayee(ctx, row, data, lerr); handled {
			return next, true, err
		}
		next, err := r.lookupFailed(ctx, row, key, what, lerr)
		return next, true, err
	}
	switch call {
	case callLoad:
		l, lerr := r.findLoad(ctx, row)
		if lerr != nil {
			return failed("look up the payee's loads", lerr)
		}
		if l != nil {
			next, err = r.adoptFoundLoad(ctx, row, data, key, *l, "load found by asking MassPay")
			return next, true, err
		}
	default:
		h, lerr := r.findPayout(ctx, row)
		if lerr != nil {
			return failed("look up the payee's payouts", lerr)
		}
		if h != nil {
			next, err = r.adoptFoundPayout(ctx, row, data, key, *h, "payout found by asking MassPay")
			return next, true, err
		}
	}
	return row, false, nil
}

// lookupFailed keeps a row in flight when asking MassPay about it failed,
// whatever the error looks like: a 4xx or a KYC- or NSF-shaped answer to a
// read says nothing about the money. Only a refused API key stops the run.
func (r *Runner) lookupFailed(ctx context.Context, row ledger.Row, key, what string, err error) (ledger.Row, error) {
	if errors.Is(err, masspay.ErrUnauthorized) {
		return row, fmt.Errorf("%w: MassPay refused the API key (%s)", ErrAborted, what)
	}
	if notDone(err) {
		// The look-up itself was not done: ask again, the earlier
		// unknown still open, none of the unknown budget spent.
		return row, fmt.Errorf("%s: %w: %v", what, errNotDone, err)
	}
	return r.stayInFlight(ctx, row, key, what, err)
}

// findLoad returns the payee's load under the row's client_load_id that
// MassPay did not cancel, or nil.
func (r *Runner) findLoad(ctx context.Context, row ledger.Row) (*masspay.Load, error) {
	loads, err := r.API.Loads(ctx, row.UserToken)
	if err != nil {
		return nil, err
	}
	for i := range loads {
		if loads[i].ClientLoadID == row.ID && loads[i].Status != masspay.LoadCancelled {
			return &loads[i], nil
		}
	}
	return nil, nil
}

// findPayout returns the payee's committed payout that is this row's: the
// row's own quote (by payout token) or one under any client_transfer_id the
// row has used. History lists committed payouts only.
func (r *Runner) findPayout(ctx context.Context, row ledger.Row) (*masspay.TxnHistory, error) {
	ids, err := r.transferIDs(ctx, row)
	if err != nil {
		return nil, err
	}
	for page := 1; page <= 100; page++ {
		hist, err := r.API.UserHistory(ctx, row.UserToken, masspay.HistoryParams{Type: "payout", Page: page, NumberOfRecords: 100})
		if err != nil {
			return nil, err
		}
		for i := range hist {
			h := hist[i]
			if row.PayoutToken != "" && h.Token == row.PayoutToken {
				return &h, nil
			}
			for _, id := range ids {
				if h.ClientTransferID == id {
					return &h, nil
				}
			}
		}
		if len(hist) < 100 {
			break
		}
	}
	return nil, nil
}

// adoptFoundLoad records a load MassPay has under the row's client_load_id,
// if it is this row's money: same amount and currency (the list is the
// payee's own). Otherwise the row is a CONFLICT showing both sides.
func (r *Runner) adoptFoundLoad(ctx context.Context, row ledger.Row, data sheet.Row, key string, l masspay.Load, why string) (ledger.Row, error) {
	cur := l.CurrencyCode
	if cur == "" {
		cur = "USD" // MassPay's default source_currency_code
	}
	if !l.Amount.Equal(data.Amount) || !strings.EqualFold(cur, data.SourceCurrency) {
		return r.conflict(ctx, row, key, fmt.Sprintf("MassPay load %s: %s %s to payee %s", l.LoadToken, l.Amount, cur, row.UserToken),
			fmt.Sprintf("this row: %s %s to payee %s", data.Amount, data.SourceCurrency, row.UserToken), "load")
	}
	to := ledger.StateLoaded
	if l.Status == masspay.LoadScheduled {
		to = ledger.StateScheduled
	}
	fee := decimal.Zero
	amt := l.Amount
	return r.move(ctx, row, to, ledger.RowUpdate{
		LoadToken: &l.LoadToken, WalletToken: &l.WalletToken, MasspayStatus: &l.Status,
		SourceAmount: &amt, DestinationAmount: &amt, Fee: &fee,
	}, ledger.Event{IdempotencyKey: key, MasspayStatus: l.Status, Message: "adopted existing load " + l.LoadToken + " (" + why + ")"})
}

// adoptFoundPayout records a committed payout MassPay has for the row, if it
// is this row's money: the row's own quote, or one whose amount, currencies,
// payee and destination match. Otherwise the row is a CONFLICT showing both
// sides. The payout's full answer is needed for the destination; failing to
// read it leaves the row in flight.
func (r *Runner) adoptFoundPayout(ctx context.Context, row ledger.Row, data sheet.Row, key string, h masspay.TxnHistory, why string) (ledger.Row, error) {
	p, err := r.API.PayoutStatus(ctx, row.UserToken, h.Token, false)
	if err != nil {
		return r.lookupFailed(ctx, row, key, "read the payout found in the payee's history", err)
	}
	if h.Token != row.PayoutToken {
		if theirs, ours, ok := payoutMatches(row, data, h, p); !ok {
			return r.conflict(ctx, row, key, theirs, ours, "payout")
		}
	}
	upd := ledger.RowUpdate{
		PayoutToken: &h.Token, Fee: &h.Fee, SourceAmount: &h.SourceAmount,
		DestinationAmount: &h.DestinationAmount, PickupCode: nonEmpty(h.PickupCode), MasspayStatus: &h.Status,
		ExchangeRate: &p.ExchangeRate, PayerName: nonEmpty(p.PayerName), DeliveryType: nonEmpty(p.DeliveryType),
		CountryCode: nonEmpty(p.CountryCode), EstimatedAvailability: nonEmpty(p.EstimatedAvailability),
	}
	if h.ExchangeRate != nil {
		upd.ExchangeRate = h.ExchangeRate
	}
	if upd.PickupCode == nil {
		upd.PickupCode = nonEmpty(p.PickupCode)
	}
	return r.move(ctx, row, ledger.StatePaid, upd,
		ledger.Event{IdempotencyKey: key, MasspayStatus: h.Status, Message: "adopted existing payout " + h.Token + " (" + why + ")"})
}

// payoutMatches compares a payout found at MassPay with the row: the amount
// on the side the row names, both currencies, the payee and the
// destination. It returns both sides in words for a conflict.
func payoutMatches(row ledger.Row, data sheet.Row, h masspay.TxnHistory, p *masspay.PayoutTxnResp) (theirs, ours string, ok bool) {
	src, dst := h.SourceCurrencyCode, h.DestinationCurrencyCode
	if src == "" {
		src = p.SourceCurrencyCode
	}
	if dst == "" {
		dst = p.DestinationCurrencyCode
	}
	payee := h.UserToken
	if payee == "" {
		payee = row.UserToken // the history asked for is the payee's own
	}
	theirs = fmt.Sprintf("MassPay payout %s: %s %s -> %s %s, payee %s, destination %s",
		h.Token, h.SourceAmount, src, h.DestinationAmount, dst, payee, p.DestinationToken)
	side := "source"
	got := h.SourceAmount
	if data.AmountIs == sheet.AmountIsDestination {
		side, got = "destination", h.DestinationAmount
	}
	ours = fmt.Sprintf("this row: %s %s amount %s, %s -> %s, payee %s, destination %s",
		side, data.Amount, "", data.SourceCurrency, data.DestinationCurrency, row.UserToken, row.DestinationToken)
	ours = strings.Replace(ours, " amount , ", " amount, ", 1)
	ok = got.Equal(data.Amount) &&
		strings.EqualFold(src, data.SourceCurrency) &&
		(data.DestinationCurrency == "" || strings.EqualFold(dst, data.DestinationCurrency)) &&
		payee == row.UserToken &&
		(row.DestinationToken == "" || p.DestinationToken == row.DestinationToken)
	return theirs, ours, ok
}

// conflict ends a row whose id MassPay has already used for other money: it
// is never paid under this id, and both sides are shown for a person.
func (r *Runner) conflict(ctx context.Context, row ledger.Row, key, theirs, ours, what string) (ledger.Row, error) {
	reason := fmt.Sprintf("MassPay already has a %s under this id that is not this row's: %s; %s", what, theirs, ours)
	action := "Check both in the MassPay dashboard. This row was not paid under this id; pay it under a new client_transfer_id only once you are sure it is owed."
	return r.move(ctx, row, ledger.StateConflict, ledger.RowUpdate{LastError: &reason, ActionNeeded: &action},
		ledger.Event{IdempotencyKey: key, Message: reason})
}

// duplicateNotFound handles DUPLICATE for an id MassPay's history shows no
// committed payout for. Right after definite refusals of every earlier
// commit (ex_rate_expired) on a fresh quote, this is a MassPay whose
// DUPLICATE covers any earlier use of the id, and nothing of the row was
// paid: the row takes a fresh quote under a derived client_transfer_id,
// recorded in the ledger before it is sent. Otherwise nothing is known, and
// the row stays in flight for the next attempt to ask again.
func (r *Runner) duplicateNotFound(ctx context.Context, row ledger.Row, key string) (ledger.Row, error) {
	if row.State == ledger.StateInitiating && row.QuoteSeq > 1 {
		ok, err := r.commitsAllRefused(ctx, row)
		if err != nil {
			return row, fmt.Errorf("%w: %v", ErrAborted, err)
		}
		if ok {
			seq := row.QuoteSeq + 1
			id := derivedTransferID(row.ID, seq)
			data, _ := json.Marshal(map[string]string{"client_transfer_id": id, "refused_key": key})
			// The derived id and the request that carries it are
			// recorded in one transition, before anything is sent.
			req, err := r.freshQuote(ctx, row, seq, id)
			if err != nil {
				return row, err
			}
			now := r.Clock()
			return r.move(ctx, row, ledger.StateInitiating, ledger.RowUpdate{QuoteSeq: &seq, AddAttempts: 1, QuoteStartedAt: &now, Request: req},
				ledger.Event{IdempotencyKey: ledger.PayoutKey(row.ID, seq), Data: data,
					Message: msgDerivedID + ": " + id + " (MassPay answered DUPLICATE under " + key +
						" with no committed payout in the payee's history, after every earlier commit was refused ex_rate_expired)"})
		}
	}
	return r.stayInFlight(ctx, row, key, "find the payout MassPay calls DUPLICATE",
		errors.New("MassPay answered DUPLICATE but the payee's history shows no committed payout for this id"))
}
