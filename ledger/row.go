package ledger

import (
	"database/sql"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Row is one client_transfer_id's record: what the sheet asked for, where it
// stands in the state machine, and everything MassPay has told us about it.
// Text fields MassPay has not filled yet are empty; money it has not quoted
// yet is an invalid NullDecimal.
type Row struct {
	ID         string // client_transfer_id
	FirstRunID int64  // the run that first ingested the row
	// LastRunID is the latest run that read the row from its sheet. A
	// re-run that took a settled sheet's rows over (CopySettledRun) holds
	// the row too (Rows with RowFilter.RunID) but leaves LastRunID at the
	// run that read and paid it, where later news of the payment (a flip)
	// is recorded.
	LastRunID int64
	// Line is the row's line in the latest sheet (header is line 1), or,
	// for a row read with RowFilter.RunID, in that run's sheet.
	Line int
	// Fingerprint identifies the payment's content; see Fingerprint.
	Fingerprint string
	Input       []Column // the latest sheet's cells, in column order

	Method              string // "load" or "payout"
	InternalUserID      string
	Amount              decimal.Decimal
	SourceCurrency      string
	DestinationCurrency string
	AmountIs            string // "source" or "destination"

	State    State
	QuoteSeq int // 1, then 2, 3... after each fresh quote

	UserToken        string
	DestinationToken string
	AttrSetToken     string
	PayoutToken      string
	LoadToken        string
	WalletToken      string

	Fee               decimal.NullDecimal
	ExchangeRate      decimal.NullDecimal
	SourceAmount      decimal.NullDecimal
	DestinationAmount decimal.NullDecimal

	PickupCode            string
	PayerName             string
	DeliveryType          string
	CountryCode           string
	EstimatedAvailability string

	// MasspayStatus is the status MassPay answered the runner's own call
	// with (the load's or the quote's status, PENDING after a commit). The
	// runner owns it; StatusChangedAt is only the pre-0005 stamp of news.
	MasspayStatus   string
	StatusChangedAt time.Time

	// LaterStatus is MassPay's latest status of the payout or load as a
	// webhook or reconcile reported it (PROCESSING, COMPLETED, CANCELLED...),
	// and LaterStatusAt when MassPay says it took effect. Only
	// UpdateStatus writes them, by compare-and-set on LaterStatusAt, so a
	// runner holding an older copy of the row can never overwrite them.
	LaterStatus   string
	LaterStatusAt time.Time

	// QuoteStartedAt is when the current quote's initiate intent was
	// recorded: the earliest its two minutes can have started.
	QuoteStartedAt time.Time

	// InternalError says why the row was stopped for a person although its
	// money may have moved (MassPay refused a key as reused). Such a row is
	// neither retried nor replaced on its own.
	InternalError string

	KYCUploadLink string
	ActionNeeded  string // what a person must do, for NEEDS_ACTION rows
	LastError     string
	Attempts      int

	CreatedAt time.Time
	UpdatedAt time.Time

	// SettledRunID is the run whose work moved the row into PAID, LOADED or
	// SCHEDULED (the run of that transition's event); 0 while the row is not
	// settled. Only Rows with RowFilter.RunID fills it: it is what tells a
	// run's own payments from rows an earlier run had already paid.
	SettledRunID int64
}

// Status is MassPay's status of the row's payment as best known: the later
// status a webhook or reconcile reported, else the one the call answered.
// Results, status and the console show this.
func (r Row) Status() string {
	if r.LaterStatus != "" {
		return r.LaterStatus
	}
	return r.MasspayStatus
}

// PayoutKey is the Idempotency-Key of the row's current quote's initiate.
func (r Row) PayoutKey() string { return PayoutKey(r.ID, r.QuoteSeq) }

// CommitKey is the Idempotency-Key of the row's current quote's commit.
func (r Row) CommitKey() string { return CommitKey(r.ID, r.QuoteSeq) }

// rowColumns are the rows table's columns, in the order scanRow reads them.
var rowColumns = []string{"client_transfer_id", "first_run_id", "last_run_id", "sheet_line",
	"fingerprint", "input", "method", "internal_user_id", "amount", "source_currency",
	"destination_currency", "amount_is", "state", "quote_seq", "user_token", "destination_token",
	"attr_set_token", "payout_token", "load_token", "wallet_token", "fee", "exchange_rate",
	"source_amount", "destination_amount", "pickup_code", "payer_name", "delivery_type",
	"country_code", "estimated_availability", "masspay_status", "status_changed_at",
	"kyc_upload_link", "action_needed", "last_error", "attempts", "created_at", "updated_at",
	"later_status", "later_status_at", "quote_started_at", "internal_error"}

// rowCols selects a row from the rows table alone.
var rowCols = strings.Join(rowColumns, ", ")

// runRowCols selects a row from run_rows (as m) joined to rows (as r): the
// row as it stands now, at its line in m's run's sheet rather than the
// latest sheet's.
var runRowCols = func() string {
	cols := make([]string, len(rowColumns))
	for i, c := range rowColumns {
		if c == "sheet_line" {
			cols[i] = "m.sheet_line"
		} else {
			cols[i] = "r." + c
		}
	}
	return strings.Join(cols, ", ")
}()

func scanRow(s scanner) (Row, error) {
	var (
		r                         Row
		input, state              string
		changed, created, updated sql.NullString
		laterAt, quoteAt          sql.NullString
	)
	err := s.Scan(&r.ID, &r.FirstRunID, &r.LastRunID, &r.Line, &r.Fingerprint, &input,
		&r.Method, &r.InternalUserID, &r.Amount, &r.SourceCurrency, &r.DestinationCurrency, &r.AmountIs,
		&state, &r.QuoteSeq, &r.UserToken, &r.DestinationToken, &r.AttrSetToken, &r.PayoutToken, &r.LoadToken,
		&r.WalletToken, &r.Fee, &r.ExchangeRate, &r.SourceAmount, &r.DestinationAmount, &r.PickupCode,
		&r.PayerName, &r.DeliveryType, &r.CountryCode, &r.EstimatedAvailability, &r.MasspayStatus,
		&changed, &r.KYCUploadLink, &r.ActionNeeded, &r.LastError, &r.Attempts, &created,
		&updated, &r.LaterStatus, &laterAt, &quoteAt, &r.InternalError)
	if err != nil {
		return Row{}, err
	}
	r.State = State(state)
	if r.Input, err = unmarshalColumns(input); err != nil {
		return Row{}, err
	}
	if r.StatusChangedAt, err = parseTime(changed); err != nil {
		return Row{}, err
	}
	if r.LaterStatusAt, err = parseTime(laterAt); err != nil {
		return Row{}, err
	}
	if r.QuoteStartedAt, err = parseTime(quoteAt); err != nil {
		return Row{}, err
	}
	if r.CreatedAt, err = parseTime(created); err != nil {
		return Row{}, err
	}
	if r.UpdatedAt, err = parseTime(updated); err != nil {
		return Row{}, err
	}
	return r, nil
}
