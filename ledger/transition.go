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

	// MasspayStatus and StatusChangedAt set MassPay's status directly,
	// e.g. the status a commit answered. Later changes go through
	// UpdateStatus, which ignores stale news.
	MasspayStatus   *string
	StatusChangedAt *time.Time

	KYCUploadLink *string
	ActionNeeded  *string
	LastError     *string
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
	str("kyc_upload_link", u.KYCUploadLink)
	str("action_needed", u.ActionNeeded)
	str("last_error", u.LastError)
	return set, args
}

// Transition moves row id from state from to state to, applies upd, and
// appends ev, all in one durable transaction; it returns the row as written.
//
// The move is a compare-and-set on the row's state: if the row is no longer
// in from, nothing changes and the error is a *StaleStateError (ErrStaleState).
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
	q := `UPDATE rows SET ` + strings.Join(set, ", ") +
		` WHERE client_transfer_id = ? AND state = ? RETURNING ` + rowCols

	var row Row
	err := l.write(ctx, false, func(tx *wtx) error {
		var err error
		row, err = scanRow(tx.queryRow(q, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return staleOrMissing(tx, id, from)
		}
		if err != nil {
			return err
		}
		e := ev
		if e.RunID == 0 {
			e.RunID = row.LastRunID
		}
		return insertEvent(tx, e, formatTime(now))
	})
	if err != nil {
		var se *StaleStateError
		if errors.As(err, &se) || errors.Is(err, ErrNotFound) {
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

// UpdateStatus records MassPay's status of row id as of at (the time MassPay
// or the webhook says the status took effect), without moving the row's
// State. News no newer than the row's status_changed_at, and news repeating
// the current status, are ignored and return changed == false, so duplicate
// and out-of-order webhooks and reconcile polls are harmless. When it
// changes, ev is appended (Kind defaults to EventStatus; MasspayStatus, At
// and TransferID are filled in).
func (l *Ledger) UpdateStatus(ctx context.Context, id, masspayStatus string, at time.Time, ev Event) (changed bool, err error) {
	if at.IsZero() {
		return false, fmt.Errorf("update status of row %q: zero time", id)
	}
	if ev.Kind == "" {
		ev.Kind = EventStatus
	}
	if len(ev.Data) > 0 && !json.Valid(ev.Data) {
		return false, fmt.Errorf("update status of row %q: event data is not valid JSON", id)
	}
	ev.TransferID, ev.MasspayStatus = id, masspayStatus
	if ev.At.IsZero() {
		ev.At = at
	}
	err = l.write(ctx, false, func(tx *wtx) error {
		changed = false
		var (
			cur     string
			prev    sql.NullString
			lastRun int64
		)
		err := tx.queryRow(`SELECT masspay_status, status_changed_at, last_run_id FROM rows
			WHERE client_transfer_id = ?`, id).Scan(&cur, &prev, &lastRun)
		if err != nil {
			return notFound(err, fmt.Sprintf("update status of row %q", id))
		}
		prevAt, err := parseTime(prev)
		if err != nil {
			return err
		}
		if cur == masspayStatus || (!prevAt.IsZero() && !at.After(prevAt)) {
			return nil
		}
		_, err = tx.exec(`UPDATE rows SET masspay_status = ?, status_changed_at = ?, updated_at = ?
			WHERE client_transfer_id = ?`, masspayStatus, formatTime(at), formatTime(l.now()), id)
		if err != nil {
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
		changed = true
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return false, err
		}
		return false, fmt.Errorf("update status of row %q: %w", id, err)
	}
	return changed, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
