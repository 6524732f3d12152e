package batch

// The payee route cache: a payout row whose payee was paid before, in the
// same country, currency and delivery type, with the same bank details,
// re-uses the destination and attribute set tokens of that committed payout
// (ledger.PayeeRoute) and goes from user_ready to route_ready without a
// MassPay call. MassPay itself re-uses them: PayoutTxn's destination_token
// and attr_set_token default to "the last one used" for the user. A cached
// token MassPay refuses never fails a row: the refused call's row takes the
// full path (route, attributes read and stored) once, under the next quote
// key, and only a refusal on that path is FAILED.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// Event messages that say where a row's route came from; the latest of them
// tells whether a refusal may be the cache's doing (usedCache).
const (
	msgRouteCached   = "cached route "
	msgCacheFallback = "cached route refused; full path: "
	msgRouteFull     = "route "
)

// routeKey is the cache entry a payout row reads and refreshes.
func routeKey(data sheet.Row) ledger.PayeeRouteKey {
	return ledger.PayeeRouteKey{
		InternalUserID: data.InternalUserID,
		Country:        strings.ToUpper(data.Country),
		Currency:       strings.ToUpper(data.DestinationCurrency),
		DeliveryType:   strings.ToUpper(data.DeliveryType),
	}
}

// detailsFingerprint is the SHA-256 of what the sheet says about where the
// money goes beyond routeKey: every attr: value, the payer_name and
// destination_token. A changed bank account (or payer) changes it, and the
// row takes the full path. The values are hashed with the payee's id, so
// equal details of two payees do not hash alike; the hash is never logged
// (the ledger's rows keep the sheet's cells themselves anyway).
func detailsFingerprint(data sheet.Row) string {
	types := make([]string, 0, len(data.Attrs))
	for t, v := range data.Attrs {
		if strings.TrimSpace(v) != "" {
			types = append(types, t)
		}
	}
	sort.Strings(types)
	parts := []string{"payee-route-v1", data.InternalUserID, strings.ToLower(strings.TrimSpace(data.PayerName)), data.DestinationToken}
	for _, t := range types {
		parts = append(parts, t, strings.TrimSpace(data.Attrs[t]))
	}
	return ledger.Fingerprint(parts...)
}

// cachedRoute is the route_ready update of a payout row from the cache,
// when its entry was paid to the same MassPay user with the same details.
func (r *Runner) cachedRoute(ctx context.Context, row ledger.Row, data sheet.Row) (ledger.RowUpdate, bool, error) {
	pr, ok, err := r.Ledger.PayeeRoute(ctx, routeKey(data))
	if err != nil {
		return ledger.RowUpdate{}, false, fmt.Errorf("%w: %v", ErrAborted, err)
	}
	if !ok || pr.UserToken != row.UserToken || pr.Fingerprint != detailsFingerprint(data) {
		return ledger.RowUpdate{}, false, nil
	}
	dst, attrSet := pr.DestinationToken, pr.AttrSetToken
	return ledger.RowUpdate{DestinationToken: &dst, AttrSetToken: &attrSet, PayerName: nonEmpty(pr.PayerName),
		DeliveryType: nonEmpty(data.DeliveryType)}, true, nil
}

// rememberRoute caches the tokens a just committed payout row used. The
// cache only saves calls, so failing to write it is logged, not fatal.
func (r *Runner) rememberRoute(ctx context.Context, row ledger.Row, data sheet.Row) {
	if row.DestinationToken == "" || row.UserToken == "" || data.InternalUserID == "" {
		return
	}
	pr := ledger.PayeeRoute{PayeeRouteKey: routeKey(data), UserToken: row.UserToken,
		DestinationToken: row.DestinationToken, AttrSetToken: row.AttrSetToken, PayerName: row.PayerName,
		Fingerprint: detailsFingerprint(data)}
	// Month two mostly pays what the cache already says: a read spares the
	// durable write.
	if cur, ok, err := r.Ledger.PayeeRoute(ctx, pr.PayeeRouteKey); err == nil && ok && cur == pr {
		return
	}
	if err := r.Ledger.PutPayeeRoute(ctx, pr); err != nil {
		r.Log.Warn().Err(err).Str("client_transfer_id", row.ID).Msg("cache the payee's route")
	}
}

// usedCache reports whether the row's current route came from the cache:
// its latest route event is a cached one.
func (r *Runner) usedCache(ctx context.Context, row ledger.Row) (bool, error) {
	used := false
	for ev, err := range r.Ledger.Events(ctx, ledger.EventFilter{TransferID: row.ID}) {
		if err != nil {
			return false, fmt.Errorf("read events of %s: %w", row.ID, err)
		}
		switch {
		case strings.HasPrefix(ev.Message, msgCacheFallback):
			used = false
		case strings.HasPrefix(ev.Message, msgRouteCached):
			used = true
		case strings.HasPrefix(ev.Message, msgRouteFull):
			used = false
		}
	}
	return used, nil
}

// refusedOutright reports whether err is a definite refusal of call that
// stale tokens could have caused: a 4xx of the initiate (unknown
// attribute set or destination, amount outside the route's limits), or a
// commit answered addtl_attr_req or failure. Compliance holds, funds,
// DUPLICATE, 429s and unknown outcomes are not.
func (r *Runner) refusedOutright(ctx context.Context, row ledger.Row, call moneyCall, key string, err error) (bool, error) {
	if call == callCommit && errors.Is(err, masspay.ErrAdditionalAttributes) {
		return true, nil
	}
	unresolved := false
	var apiErr *masspay.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 {
		u, lerr := r.unresolvedUnknown(ctx, row, key)
		if lerr != nil {
			return false, lerr
		}
		unresolved = u
	}
	return classifyOutcome(call, err, unresolved) == verdictRefused, nil
}

// fallBackFromCache handles a definite refusal of an initiate or commit
// made with cached tokens: the cache entry is dropped, the full path finds
// and stores the route again, and the row goes back to initiating under
// the next quote key (<id>#2...) with the previous quote's recorded bytes,
// only destination_token and attr_set_token replaced. It reports handled
// false when the refusal is not the cache's (the row's route did not come
// from it, or the refusal is of another kind): the caller settles it as
// always. A commit refusal first asks MassPay whether the payout moved,
// as settleMoney does before any refusal ends a commit.
func (r *Runner) fallBackFromCache(ctx context.Context, row ledger.Row, data sheet.Row, call moneyCall, key string, cerr error) (ledger.Row, bool, error) {
	refused, err := r.refusedOutright(ctx, row, call, key, cerr)
	if err != nil {
		return row, true, fmt.Errorf("%w: %v", ErrAborted, err)
	}
	if !refused {
		return row, false, nil
	}
	used, err := r.usedCache(ctx, row)
	if err != nil {
		return row, true, fmt.Errorf("%w: %v", ErrAborted, err)
	}
	if !used {
		return row, false, nil
	}
	if call == callCommit {
		if next, settled, lerr := r.lookUp(ctx, row, data, call, key, false); settled {
			return next, true, lerr
		}
	}
	if err := r.Ledger.ForgetPayeeRoute(ctx, routeKey(data)); err != nil {
		r.Log.Warn().Err(err).Str("client_transfer_id", row.ID).Msg("drop the refused cached route")
	}
	upd, na, what, err := r.fullRoute(ctx, row, data)
	if na != nil {
		next, err := r.needsAction(ctx, row, upd, na.reason, na.action)
		return next, true, err
	}
	if err != nil {
		next, err := r.settle(ctx, row, "", what, err)
		return next, true, err
	}
	seq := row.QuoteSeq + 1
	ctid, err := r.transferID(ctx, row)
	if err != nil {
		return row, true, fmt.Errorf("%w: %v", ErrAborted, err)
	}
	req, err := r.freshQuote(ctx, row, seq, ctid)
	if err != nil {
		return row, true, err
	}
	if req.Body, err = withRoute(req.Body, *upd.DestinationToken, *upd.AttrSetToken); err != nil {
		return row, true, fmt.Errorf("%w: the recorded request of quote %d: %v", ErrAborted, row.QuoteSeq, err)
	}
	now := r.Clock()
	upd.QuoteSeq, upd.AddAttempts, upd.QuoteStartedAt, upd.Request = &seq, 1, &now, req
	next, err := r.move(ctx, row, ledger.StateInitiating, upd, ledger.Event{IdempotencyKey: req.Key, HTTPStatus: httpStatus(cerr),
		Message: msgCacheFallback + routing.ErrorText(cerr)})
	return next, true, err
}

// withRoute returns a recorded payout body with destination_token and
// attr_set_token replaced (attr_set_token left out when empty, as the
// encoder does); every other field keeps its recorded bytes.
func withRoute(body []byte, destination, attrSet string) ([]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	raw, err := json.Marshal(destination)
	if err != nil {
		return nil, err
	}
	fields["destination_token"] = raw
	delete(fields, "attr_set_token")
	if attrSet != "" {
		if raw, err = json.Marshal(attrSet); err != nil {
			return nil, err
		}
		fields["attr_set_token"] = raw
	}
	return json.Marshal(fields)
}
