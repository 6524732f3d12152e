package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger/faultpoint"
)

// RowUpdate lists the columns a Transition changes along with the state. A
// nil pointer leaves the column as it is; new(v) (Go 1.26) sets it. The row's
// identity and sheet content are not here: they never change after ingest.
type RowUpdate struct {
	QuoteSeq *int
	// Attempts sets the attempt counter; AddAttempts then adds to it.
	Attempts    *int
	AddAttempts int

	UserToken        *string
	DestinationToken *string
	AttrSetToken     *string
	PayoutToken      *string
	LoadToken        *string
	WalletToken      *string

	Fee               *decimal.Decimal
	ExchangeRate      *decimal.Decimal
	SourceAmount      *decimal.Decimal
	DestinationAmount *decimal.Decimal

	PickupCode            *string
	PayerName             *string
	DeliveryType          *string
	CountryCode           *string
	EstimatedAvailability *string

	// MasspayStatus is the status the runner's own call was answered
	// with. MassPay's later status (webhook, reconcile) is not here: only
	// UpdateStatus writes it, by compare-and-set on its event time.
	MasspayStatus   *string
	StatusChangedAt *time.Time

	// QuoteStartedAt stamps the start of the current quote (the initiate
	// intent), which decides when it lapses.
	QuoteStartedAt *time.Time

	KYCUploadLink *string
	ActionNeeded  *string
	LastError     *string
	// InternalError marks a row stopped for a person although its money
	// may have moved; see Row.InternalError.
	InternalError *string

	// Request, when set, is the exact request the intent this transition
	// records is about to send. It is recorded in the same transaction,
	// unless its key was recorded before: a key's first request is final,
	// and the caller sends what Ledger.Request returns for the key. The
	// event then carries the key and the recorded body's SHA-256 as its
	// Data, unless the caller set Data.
	Request *Request
}

// sets returns the SET assignments and their arguments.
func (u RowUpdate) sets() ([]string, []any) {
	var (
		set  []string
		args []any
	)
	str := func(col string, v *string) {
		if v != nil {
			set = append(set, col+" = ?")
			args = append(args, *v)
		}
	}
	dec := func(col string, v *decimal.Decimal) {
		if v != nil {
			set = append(set, col+" = ?")
			args = append(args, decString(*v))
		}
	}
	if u.QuoteSeq != nil {
		set = append(set, "quote_seq = ?")
		args = append(args, *u.QuoteSeq)
	}
	switch {
	case u.Attempts != nil:
		set = append(set, "attempts = ?")
		args = append(args, *u.Attempts+u.AddAttempts)
	case u.AddAttempts != 0:
		set = append(set, "attempts = attempts + ?")
		args = append(args, u.AddAttempts)
	}
	str("user_token", u.UserToken)
	str("destination_token", u.DestinationToken)
	str("attr_set_token", u.AttrSetToken)
	str("payout_token", u.PayoutToken)
	str("load_token", u.LoadToken)
	str("wallet_token", u.WalletToken)
	dec("fee", u.Fee)
	dec("exchange_rate", u.ExchangeRate)
	dec("source_amount", u.SourceAmount)
	dec("destination_amount", u.DestinationAmount)
	str("pickup_code", u.PickupCode)
	str("payer_name", u.PayerName)
	str("delivery_type", u.DeliveryType)
	str("country_code", u.CountryCode)
	str("estimated_availability", u.EstimatedAvailability)
	str("masspay_status", u.MasspayStatus)
	if u.StatusChangedAt != nil {
		set = append(set, "status_changed_at = ?")
		args = append(args, nullTime(*u.StatusChangedAt))
	}
	if u.QuoteStartedAt != nil {
		set = append(set, "quote_started_at = ?")
		args = append(args, nullTime(*u.QuoteStartedAt))
	}
	str("kyc_upload_link", u.KYCUploadLink)
	str("action_needed", u.ActionNeeded)
	str("last_error", u.LastError)
	str("internal_error", u.InternalError)
	return set, args
}

// Transition moves row id from state from to state to, applies upd, and
// appends ev, all in one durable transaction; it returns the row as written.
//
// The move is a compare-and-set on the row's state: if the row is no longer
// in from, nothing changes and the error is a *StaleStateError (ErrStaleState).
// Under a claim for the row (WithClaim) it is compare-and-set on the claim's
// fencing token too: a claim lost to another runner fails with a
// *FencedError (ErrFenced) and changes nothing.
// A move the state machine forbids fails with ErrIllegalTransition before
// touching the file; an unknown id fails with ErrNotFound. from == to is
// allowed, to update fields (attempts, last_error) under the same CAS.
//
// The event's From, To and TransferID are filled in; Kind defaults to
// EventTransition (use EventAPICall when the move records a call's outcome,
// with IdempotencyKey, HTTPStatus and MasspayStatus set), RunID to the row's
// latest run, At to the clock. Concurrent calls are group-committed; each
// returns only once its own change is on disk.
func (l *Ledger) Transition(ctx context.Context, id string, from, to State, upd RowUpdate, ev Event) (Row, error) {
	if err := checkTransition(from, to); err != nil {
		return Row{}, fmt.Errorf("transition row %q: %w", id, err)
	}
	if upd.QuoteSeq != nil && *upd.QuoteSeq < 1 {
		return Row{}, fmt.Errorf("transition row %q: quote_seq %d < 1", id, *upd.QuoteSeq)
	}
	if upd.AddAttempts < 0 || (upd.Attempts != nil && *upd.Attempts < 0) {
		return Row{}, fmt.Errorf("transition row %q: negative attempts", id)
	}
	if ev.Kind == "" {
		ev.Kind = EventTransition
	}
	if len(ev.Data) > 0 && !json.Valid(ev.Data) {
		return Row{}, fmt.Errorf("transition row %q: event data is not valid JSON", id)
	}
	ev.TransferID, ev.From, ev.To = id, from, to
	set, args := upd.sets()
	now := l.now()
	set = append([]string{"state = ?", "updated_at = ?"}, set...)
	args = append([]any{string(to), formatTime(now)}, args...)
	args = append(args, id, string(from))
	where := ` WHERE client_transfer_id = ? AND state = ?`
	claim, fenced := claimFrom(ctx, id)
	if fenced {
		// A claimant writes only while the row's claim is still its own.
		where += ` AND claim_gen = ? AND claim_owner = ?`
		args = append(args, claim.Token, claim.Owner)
	}
	q := `UPDATE rows SET ` + strings.Join(set, ", ") + where + ` RETURNING ` + rowCols

	var row Row
	write := l.write
	if fenced {
		// Compare-and-set on the claim: it may share the write lock.
		write = func(ctx context.Context, _ bool, fn func(*wtx) error) error { return l.writeShared(ctx, fn) }
	}
	err := write(ctx, false, func(tx *wtx) error {
		var err error
		row, err = scanRow(tx.queryRow(q, args...))
		if errors.Is(err, sql.ErrNoRows) {
			if fenced {
				return fencedOrStale(tx, claim, from)
			}
			return staleOrMissing(tx, id, from)
		}
		if err != nil {
			return err
		}
		e := ev
		if upd.Request != nil {
			if err := insertRequest(tx, id, upd.Request, formatTime(now)); err != nil {
				return err
			}
			if len(e.Data) == 0 {
				// The evidence names what is recorded under the key,
				// which may be an earlier record than upd.Request.
				if e.Data, err = requestEvidence(tx, id, upd.Request.Key); err != nil {
					return err
				}
			}
		}
		if e.RunID == 0 {
			e.RunID = row.LastRunID
		}
		return insertEvent(tx, e, formatTime(now))
	})
	if err != nil {
		var se *StaleStateError
		if errors.As(err, &se) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrFenced) {
			return Row{}, err
		}
		return Row{}, fmt.Errorf("transition row %q %s -> %s: %w", id, from, to, err)
	}
	// The move is durable; a crash here is "committed, caller never knew".
	faultpoint.Hit2("ledger.transition.", string(to))
	return row, nil
}

// staleOrMissing explains a compare-and-set that matched no row.
func staleOrMissing(tx *wtx, id string, expected State) error {
	var actual string
	err := tx.queryRow(`SELECT state FROM rows WHERE client_transfer_id = ?`, id).Scan(&actual)
	if err != nil {
		return notFound(err, fmt.Sprintf("transition row %q", id))
	}
	return &StaleStateError{ID: id, Expected: expected, Actual: State(actual)}
}

// StatusWrite is what UpdateStatus did with one piece of news.
type StatusWrite int

// UpdateStatus outcomes.
const (
	// StatusApplied: the news was newer than the row's later status and
	// is now the row's status.
	StatusApplied StatusWrite = iota + 1
	// StatusSame: the row already holds this status (the same event
	// delivered again, or the same status reported again later): nothing
	// to write, and nothing lost.
	StatusSame
	// StatusStale: the row holds a status that took effect later (or at
	// the same instant, first come first kept): the news is older.
	StatusStale
)

// String names the outcome for logs and tests.
func (w StatusWrite) String() string {
	switch w {
	case StatusApplied:
		return "applied"
	case StatusSame:
		return "same"
	case StatusStale:
		return "stale"
	}
	return "none"
}

// UpdateStatus records MassPay's later status of row id as of at (the time
// MassPay or the webhook says the status took effect), without moving the
// row's State, in the later_status columns that nothing else writes. The
// write is a compare-and-set on later_status_at: news takes effect only if
// it is newer than the row's, so duplicate and out-of-order webhooks and
// reconcile polls are harmless. News repeating the row's status returns
// StatusSame, not StatusStale, however it is dated. When it applies, ev is
// appended (Kind defaults to EventStatus; MasspayStatus, At and TransferID
// are filled in).
func (l *Ledger) UpdateStatus(ctx context.Context, id, masspayStatus string, at time.Time, ev Event) (StatusWrite, error) {
	if at.IsZero() {
		return 0, fmt.Errorf("update status of row %q: zero time", id)
	}
	if masspayStatus == "" {
		return 0, fmt.Errorf("update status of row %q: empty status", id)
	}
	if ev.Kind == "" {
		ev.Kind = EventStatus
	}
	if len(ev.Data) > 0 && !json.Valid(ev.Data) {
		return 0, fmt.Errorf("update status of row %q: event data is not valid JSON", id)
	}
	ev.TransferID, ev.MasspayStatus = id, masspayStatus
	if ev.At.IsZero() {
		ev.At = at
	}
	var out StatusWrite
	err := l.write(ctx, false, func(tx *wtx) error {
		out = 0
		var (
			cur     string
			prev    sql.NullString
			lastRun int64
		)
		err := tx.queryRow(`SELECT later_status, later_status_at, last_run_id FROM rows
			WHERE client_transfer_id = ?`, id).Scan(&cur, &prev, &lastRun)
		if err != nil {
			return notFound(err, fmt.Sprintf("update status of row %q", id))
		}
		prevAt, err := parseTime(prev)
		if err != nil {
			return err
		}
		switch {
		case cur == masspayStatus:
			out = StatusSame
			return nil
		case !prevAt.IsZero() && !at.After(prevAt):
			out = StatusStale
			return nil
		}
		// The compare-and-set: the time read above must still be the row's.
		res, err := tx.exec(`UPDATE rows SET later_status = ?, later_status_at = ?
			WHERE client_transfer_id = ? AND (later_status_at IS NULL OR later_status_at < ?)`,
			masspayStatus, formatTime(at), id, formatTime(at))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			out = StatusStale
			return err
		}
		e := ev
		if e.RunID == 0 {
			e.RunID = lastRun
		}
		if e.Message == "" {
			e.Message = fmt.Sprintf("masspay status %s -> %s", orDash(cur), masspayStatus)
		}
		if err := insertEvent(tx, e, ""); err != nil {
			return err
		}
		out = StatusApplied
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return 0, err
		}
		return 0, fmt.Errorf("update status of row %q: %w", id, err)
	}
	return out, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
