package batch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// moneyCall names a call that moves money (or takes the quote that does).
type moneyCall string

const (
	callLoad     moneyCall = "load"
	callInitiate moneyCall = "initiate"
	callCommit   moneyCall = "commit"
)

// verdict is what the answer to a money-moving call says about the money.
type verdict int

const (
	// verdictDone: MassPay did it (loaded, quoted, committed).
	verdictDone verdict = iota
	// verdictRefused: a definite, documented refusal; nothing moved. FAILED.
	verdictRefused
	// verdictPerson: a definite refusal a person can lift (compliance
	// hold, funds, missing details). NEEDS_ACTION; nothing moved.
	verdictPerson
	// verdictRequote: the commit was definitely refused because the quote
	// lapsed (ex_rate_expired); nothing moved, take a fresh quote.
	verdictRequote
	// verdictMaybeDone: MassPay says the id was used already. Look the
	// payout or load up now and settle from what MassPay shows.
	verdictMaybeDone
	// verdictNotDone: MassPay asked to slow down (429): the call was not
	// done. The row stays in flight and the same key goes again, with no
	// look-up first.
	verdictNotDone
	// verdictUnknown: the call may or may not have taken effect. The row
	// stays in flight; its next attempt asks MassPay before re-sending.
	verdictUnknown
	// verdictAbort: MassPay refused the API key; the run stops.
	verdictAbort
	// verdictInternal: MassPay says the key was sent before with another
	// request (IDEMPOTENCY_KEY_REUSED): our own bug, and the first request
	// may have moved money. The row stops for a person, with the evidence;
	// never FAILED.
	verdictInternal
)

// classifyOutcome is the one rule that turns the answer to a money-moving
// call into what the ledger may say about it. The ledger must never say
// FAILED (or NEEDS_ACTION) about money that moved, nor PAID or LOADED about
// money that did not, so anything that is not a definite, documented answer
// is unknown. unresolved reports that an earlier attempt of the same call
// (same Idempotency-Key) had an unknown outcome that no look-up has settled
// since.
//
//	answer                                           load        initiate    commit
//	no error (commit status success)                 done        done        done
//	401                                              abort       abort       abort
//	429 (also past the client's retries), with no    not-done    not-done    not-done
//	  attempt of unknown outcome before it
//	timeout, reset, lost answer, 5xx,                unknown     unknown     unknown
//	  409 IDEMPOTENCY_KEY_IN_USE, run stopping,
//	  an answer the client could not read
//	200 with an empty body or unknown status,        -           unknown     unknown
//	  initiate without payout_token
//	IDEMPOTENCY_KEY_REUSED (our bug, evidence kept)  internal    internal    internal
//	DUPLICATE (payout token, code DUPLICATE...)      maybe-done  maybe-done  unknown
//	any other 409 (a proxy, another reading)         maybe-done  unknown     unknown
//	compliance hold (KYC_HOLD), NSF                  person      person      person
//	commit status addtl_attr_req                     -           -           person
//	commit status ex_rate_expired                    -           -           requote
//	commit status failure                            -           -           refused
//	other 4xx, no unresolved unknown before it       refused     refused     refused
//	other 4xx after an unresolved unknown attempt    unknown     unknown     unknown
//	any other error                                  unknown     unknown     unknown
//
// A 4xx that follows an unknown attempt may be MassPay refusing the re-send
// of something the first attempt already did (a key that expired, another
// reading of the contract); only a look-up tells, so it is unknown. After a
// look-up found nothing (the unknown is resolved) the next answer counts
// again. Even a refused or person verdict on a load or commit ends the row
// only after MassPay's lists show nothing moved (settleMoney): a gateway can
// put a 4xx in front of work MassPay did.
func classifyOutcome(call moneyCall, err error, unresolved bool) verdict {
	var apiErr *masspay.APIError
	switch {
	case err == nil:
		return verdictDone
	case errors.Is(err, masspay.ErrUnauthorized):
		return verdictAbort
	case errors.Is(err, masspay.ErrIdempotencyKeyReused):
		return verdictInternal
	case notDone(err):
		return verdictNotDone
	case outcomeUnclear(err):
		return verdictUnknown
	case errors.Is(err, masspay.ErrDuplicate):
		if call == callCommit {
			return verdictUnknown
		}
		return verdictMaybeDone
	case call == callLoad && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusConflict:
		return verdictMaybeDone
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusConflict:
		return verdictUnknown
	case errors.Is(err, masspay.ErrKYCHold), errors.Is(err, masspay.ErrInsufficientFunds),
		errors.Is(err, masspay.ErrAdditionalAttributes):
		return verdictPerson
	case errors.Is(err, masspay.ErrQuoteExpired):
		return verdictRequote
	case errors.Is(err, masspay.ErrCommitFailed):
		return verdictRefused
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
		if unresolved {
			return verdictUnknown
		}
		return verdictRefused
	}
	return verdictUnknown
}

// Messages of the events that carry the unknown-outcome trail; the ledger's
// events of a row are what tells a later process (or attempt) that an
// earlier attempt of a call was unknown.
const (
	msgUnknownPrefix = "outcome unknown"
	msgAskedNothing  = "asked MassPay: nothing done under this key yet"
	msgDerivedID     = "client_transfer_id derived"
)

// unresolvedUnknown reports whether an attempt of the call under key had an
// unknown outcome that no look-up has settled since.
func (r *Runner) unresolvedUnknown(ctx context.Context, row ledger.Row, key string) (bool, error) {
	open := false
	for ev, err := range r.Ledger.Events(ctx, ledger.EventFilter{TransferID: row.ID}) {
		if err != nil {
			return false, fmt.Errorf("read events of %s: %w", row.ID, err)
		}
		if ev.IdempotencyKey != key {
			continue
		}
		switch {
		case strings.HasPrefix(ev.Message, msgUnknownPrefix):
			open = true
		case ev.Message == msgAskedNothing:
			open = false
		}
	}
	return open, nil
}

// settleMoney settles a money-moving call that did not plainly succeed,
// by classifyOutcome. Callers handle their own verdictDone and
// verdictRequote (and addtl_attr_req) first.
func (r *Runner) settleMoney(ctx context.Context, row ledger.Row, data sheet.Row, call moneyCall, key, what string, err error) (ledger.Row, error) {
	unresolved := false
	var apiErr *masspay.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 {
		u, lerr := r.unresolvedUnknown(ctx, row, key)
		if lerr != nil {
			return row, fmt.Errorf("%w: %v", ErrAborted, lerr)
		}
		unresolved = u
	}
	v := classifyOutcome(call, err, unresolved)
	if (v == verdictRefused || v == verdictPerson) && call != callInitiate {
		// A refusal ends the row only once MassPay shows that nothing
		// moved: a gateway or proxy can put a 4xx in front of a load or
		// commit MassPay did. (An initiate moves no money.)
		if next, settled, lerr := r.lookUp(ctx, row, data, call, key, false); settled {
			return next, lerr
		}
	}
	switch v {
	case verdictMaybeDone:
		if call == callLoad {
			return r.adoptLoad(ctx, row, data, key)
		}
		return r.adoptPayout(ctx, row, data, key)
	case verdictRefused:
		return r.fail(ctx, row, key, refusal(what, err))
	case verdictNotDone:
		return row, fmt.Errorf("%s: %w: %v", what, errNotDone, err)
	case verdictUnknown:
		return r.stayInFlight(ctx, row, key, what, err)
	case verdictInternal:
		// MassPay may show what the first request under the key did.
		if next, settled, lerr := r.lookUp(ctx, row, data, call, key, false); settled {
			return next, lerr
		}
		var body []byte
		if q, qerr := r.Ledger.Request(ctx, row.ID, key); qerr == nil {
			body = q.Body
		}
		return r.keyReused(ctx, row, key, body, err)
	}
	// abort and person: settle knows them (401, compliance hold, funds).
	return r.settle(ctx, row, key, what, err)
}

// stayInFlight records an unknown outcome under key and leaves the row
// where it is; its next attempt asks MassPay first.
func (r *Runner) stayInFlight(ctx context.Context, row ledger.Row, key, what string, err error) (ledger.Row, error) {
	r.recordUnknown(ctx, row, key, what, err)
	return row, fmt.Errorf("%s: %w: %v", what, errUnknownOutcome, err)
}

// maxTransferID is MassPay's limit on client_transfer_id.
const maxTransferID = 50
