// Package masspay is a typed client for the MassPay payout API v1.0.0.
//
// The wire contract lives in ../shared/masspay-api.md. Every struct in types*.go
// mirrors a request or response model of that contract, with the API's own JSON
// field names. Money is always decimal.Decimal (never float64) and is marshalled
// as a JSON number, exactly as MassPay sends and expects it.
package masspay

import (
	"encoding/json"

	"github.com/shopspring/decimal"
)

func init() {
	// MassPay sends and expects amounts as JSON numbers (100.5), not strings.
	// shopspring/decimal quotes by default; this switch is process-wide, which is
	// what we want: every decimal this program puts on the wire is money.
	decimal.MarshalJSONWithoutQuotes = true
}

// Payout statuses (PayoutTxnResp.Status and history rows).
const (
	StatusPending        = "PENDING"
	StatusProcessing     = "PROCESSING"
	StatusCompleted      = "COMPLETED"
	StatusCancelled      = "CANCELLED"
	StatusScheduled      = "SCHEDULED"
	StatusReadyForPickup = "READY_FOR_PICKUP"
	StatusHold           = "HOLD"
	StatusError          = "ERROR"
)

// Commit outcomes (PayoutTxnCommitResp.Status).
const (
	CommitSuccess       = "success"
	CommitFailure       = "failure"
	CommitAddtlAttrReq  = "addtl_attr_req"
	CommitExRateExpired = "ex_rate_expired"
	CommitNSF           = "nsf"
)

// Special payout_token values that MassPay returns inside a 200 answer to
// POST /{user_token}.
const (
	PayoutTokenNSF       = "NSF"
	PayoutTokenDuplicate = "DUPLICATE"
)

// User statuses (StoredUser.Status).
const (
	UserActive   = "ACTIVE"
	UserLocked   = "LOCKED"
	UserDeactive = "DEACTIVE"
)

// Load statuses (LoadTxnResp.Status, Load.Status).
const (
	LoadCompleted = "COMPLETED"
	LoadScheduled = "SCHEDULED"
	LoadCancelled = "CANCELLED"
)

// Delivery types (Service.DeliveryType).
const (
	DeliveryBankDeposit    = "BANK_DEPOSIT"
	DeliveryCashPickup     = "CASH_PICKUP"
	DeliveryHomeDelivery   = "HOME_DELIVERY"
	DeliveryMobileWallet   = "MOBILE_WALLET"
	DeliveryMassPayCard    = "MASSPAY_CARD"
	DeliveryPaperCheck     = "PAPER_CHECK"
	DeliveryBill           = "BILL"
	DeliveryCryptocurrency = "CRYPTOCURRENCY"
)

// Wallet types (Wallet.Type).
const (
	WalletUserFunds   = "USER_FUNDS"
	WalletMassPayCard = "MASSPAY_CARD"
)

// Webhook event types (WebhookEvent.EventType).
const (
	EventPayout    = "payout"
	EventLoad      = "load"
	EventSpendback = "spendback"
)

// AvailableBalance is one entry of GET /account/balance. Token is the
// source_token to pay from.
type AvailableBalance struct {
	Token        string          `json:"token"`
	Balance      decimal.Decimal `json:"balance"`
	CurrencyCode string          `json:"currency_code"`
}

// StatementRow is one line of the account statement: MassPay sends the
// statement as a PDF (Client.Statement); the sandbox keeps its ledger in
// this form and prints it into that PDF.
type StatementRow struct {
	Token            string          `json:"token"`
	Type             string          `json:"type"`
	TimeOfTxn        string          `json:"time_of_txn"`
	Amount           decimal.Decimal `json:"amount"`
	CurrencyCode     string          `json:"currency_code"`
	Balance          decimal.Decimal `json:"balance"`
	Notes            string          `json:"notes,omitempty"`
	ClientTransferID string          `json:"client_transfer_id,omitempty"`
	UserToken        string          `json:"user_token,omitempty"`
}

// ErrorBody is the JSON body of a non-2xx answer. MassPay uses several shapes:
// {title, message, code, error:{reason, details}}, {Exception, Errors[]} and,
// for 429, {code, message, details, timestamp}. All of them decode into this.
type ErrorBody struct {
	Title     string          `json:"title,omitempty"`
	Message   string          `json:"message,omitempty"`
	Code      json.RawMessage `json:"code,omitempty"`
	Error     *ErrorDetail    `json:"error,omitempty"`
	Exception string          `json:"Exception,omitempty"`
	Errors    []string        `json:"Errors,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
	Timestamp string          `json:"timestamp,omitempty"`
	// KYCUploadURL is set on a compliance hold: the payee's unique
	// document-upload link.
	KYCUploadURL string `json:"kyc_upload_url,omitempty"`
}

// ErrorDetail is the "error" object of a 400 answer.
type ErrorDetail struct {
	Reason  string   `json:"reason,omitempty"`
	Details []string `json:"details,omitempty"`
}

// WebhookEvent is the body MassPay POSTs to a status-callback URL: the
// transaction itself plus EventType. Payout events fill the payout fields,
// load events the load fields.
type WebhookEvent struct {
	EventType    string `json:"event_type"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason,omitempty"`
	UserToken    string `json:"user_token,omitempty"`

	// payout
	PayoutToken             string           `json:"payout_token,omitempty"`
	ClientTransferID        string           `json:"client_transfer_id,omitempty"`
	SourceCurrencyCode      string           `json:"source_currency_code,omitempty"`
	DestinationCurrencyCode string           `json:"destination_currency_code,omitempty"`
	SourceAmount            *decimal.Decimal `json:"source_amount,omitempty"`
	DestinationAmount       *decimal.Decimal `json:"destination_amount,omitempty"`
	Fee                     *decimal.Decimal `json:"fee,omitempty"`
	ExchangeRate            *decimal.Decimal `json:"exchange_rate,omitempty"`
	CountryCode             string           `json:"country_code,omitempty"`
	PayerName               string           `json:"payer_name,omitempty"`

	// load
	LoadToken    string           `json:"load_token,omitempty"`
	ClientLoadID string           `json:"client_load_id,omitempty"`
	WalletToken  string           `json:"wallet_token,omitempty"`
	Amount       *decimal.Decimal `json:"amount,omitempty"`
	Notes        string           `json:"notes,omitempty"`
	TimeOfLoad   string           `json:"time_of_load,omitempty"`

	// EventTime is when the status changed (RFC 3339); receivers use it to
	// ignore events that arrive out of order.
	EventTime string `json:"event_time,omitempty"`
}
