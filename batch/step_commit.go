package batch

// Commit family: initiated -> committing -> PAID, and a fresh quote when
// the first expired before it was committed.

import (
	"context"
	"errors"
	"fmt"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
	"github.com/payrun/payrun/masspay"
)

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
		next, err := r.move(ctx, row, ledger.StatePaid, ledger.RowUpdate{PickupCode: nonEmpty(resp.PickupCode), MasspayStatus: &st},
			ledger.Event{IdempotencyKey: key, MasspayStatus: resp.Status, Message: "committed " + row.PayoutToken})
		if err == nil {
			// What was just paid to is what next month's row re-uses.
			r.rememberRoute(ctx, next, data)
		}
		return next, err
	case verdictRequote:
		return r.moveFreshQuote(ctx, row, masspay.CommitExRateExpired, "quote expired at commit; fresh quote")
	}
	if next, handled, ferr := r.fallBackFromCache(ctx, row, data, callCommit, key, err); handled {
		return next, ferr
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
