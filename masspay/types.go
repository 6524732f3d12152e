// Package masspay is a typed client for the MassPay payout API v1.0.0.
//
// The wire contract lives in ../shared/masspay-api.md. Every struct in this file
// mirrors a request or response model of that contract, with the API's own JSON
// field names. Money is always decimal.Decimal (never float64) and is marshalled
// as a JSON number, exactly as MassPay sends and expects it.
package masspay

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

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

// FoundUser is the answer of GET /user/lookup.
type FoundUser struct {
	UserToken      string `json:"user_token"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	InternalUserID string `json:"internal_user_id"`
	Email          string `json:"email,omitempty"`
}

// LookupUserParams are the query parameters of GET /user/lookup: either
// InternalUserID, or Email together with FirstName.
type LookupUserParams struct {
	Email          string
	FirstName      string
	InternalUserID string
}

// Profile is who a payee is and how to reach them: the fields POST /user
// takes, PUT /user/{user_token} changes and GET /user/{user_token} answers.
// User, UpdateUser and StoredUser embed it, so the three cannot drift apart;
// encoding/json writes an embedded struct's fields in place, so the wire is
// what it was when each wrote them out. The first five are required by
// POST /user and always sent there; UpdateUser leaves them out when empty.
type Profile struct {
	InternalUserID string         `json:"internal_user_id"`
	Country        string         `json:"country"`
	FirstName      string         `json:"first_name"`
	LastName       string         `json:"last_name"`
	Email          string         `json:"email"`
	Address1       string         `json:"address1,omitempty"`
	Address2       string         `json:"address2,omitempty"`
	City           string         `json:"city,omitempty"`
	StateProvince  string         `json:"state_province,omitempty"`
	PostalCode     string         `json:"postal_code,omitempty"`
	MiddleName     string         `json:"middle_name,omitempty"`
	Language       string         `json:"language,omitempty"`
	MobileNumber   string         `json:"mobile_number,omitempty"`
	BusinessName   string         `json:"business_name,omitempty"`
	DateOfBirth    string         `json:"date_of_birth,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// User is the body of POST /user.
type User struct {
	Profile
	NotifyUser *bool `json:"notify_user,omitempty"`
}

// UpdateUser is the body of PUT /user/{user_token}; empty fields are left as
// they are.
type UpdateUser struct {
	Profile
}

// MarshalJSON writes the profile with every empty field left out, the five
// POST /user requires too: in a PUT an absent field is left as it is.
func (u UpdateUser) MarshalJSON() ([]byte, error) {
	// Fields at the outer level hide the embedded ones of the same JSON
	// name and keep their place: the order on the wire does not change.
	return json.Marshal(struct {
		InternalUserID string `json:"internal_user_id,omitempty"`
		Country        string `json:"country,omitempty"`
		FirstName      string `json:"first_name,omitempty"`
		LastName       string `json:"last_name,omitempty"`
		Email          string `json:"email,omitempty"`
		Profile
	}{u.InternalUserID, u.Country, u.FirstName, u.LastName, u.Email, u.Profile})
}

// StoredUser is the answer of POST /user, GET and PUT /user/{user_token}.
type StoredUser struct {
	UserToken string `json:"user_token"`
	Status    string `json:"status"`
	CreatedOn string `json:"created_on"`
	Profile
	Timezone      string `json:"timezone"`
	ActivationURL string `json:"activation_url,omitempty"`
}

// HistoryParams are the query parameters of the user history endpoints.
// Dates are YYYY-MM-DD; zero values are left out.
type HistoryParams struct {
	StartDate       string
	EndDate         string
	Type            string // load, payout, spend back
	Page            int
	NumberOfRecords int
}

// TxnHistory is one entry of GET /user/{user_token}/history and
// GET /user/history.
type TxnHistory struct {
	Token                   string          `json:"token"`
	Type                    string          `json:"type"`
	TimeOfTxn               string          `json:"time_of_txn"`
	SourceAmount            decimal.Decimal `json:"source_amount"`
	DestinationAmount       decimal.Decimal `json:"destination_amount"`
	SourceCurrencyCode      string          `json:"source_currency_code"`
	DestinationCurrencyCode string          `json:"destination_currency_code"`
	Fee                     decimal.Decimal `json:"fee"`
	Status                  string          `json:"status"`
	// DestinationToken is where the money went: the route of a payout, the
	// wallet of a load.
	DestinationToken string           `json:"destination_token"`
	SourceToken      string           `json:"source_token,omitempty"`
	PayerName        string           `json:"payer_name,omitempty"`
	DeliveryType     string           `json:"delivery_type,omitempty"`
	Notes            string           `json:"notes,omitempty"`
	ClientTransferID string           `json:"client_transfer_id,omitempty"`
	PickupCode       string           `json:"pickup_code,omitempty"`
	StatusReason     string           `json:"status_reason,omitempty"`
	UserToken        string           `json:"user_token,omitempty"`
	ExchangeRate     *decimal.Decimal `json:"exchange_rate,omitempty"`
}

// LoadTxn is the body of POST /load/{user_token}.
type LoadTxn struct {
	ClientLoadID       string          `json:"client_load_id"`
	SourceToken        string          `json:"source_token"`
	Amount             decimal.Decimal `json:"amount"`
	SourceCurrencyCode string          `json:"source_currency_code,omitempty"`
	Notes              string          `json:"notes,omitempty"`
	NotifyUser         *bool           `json:"notify_user,omitempty"`
	// TimeToProcess, when in the future, makes the load SCHEDULED.
	TimeToProcess *time.Time     `json:"time_to_process,omitempty"`
	Metadata      map[string]any `json:"metadata,omitempty"`
}

// LoadTxnResp is the answer of POST /load/{user_token}.
type LoadTxnResp struct {
	LoadToken   string `json:"load_token"`
	Status      string `json:"status"`
	WalletToken string `json:"wallet_token"`
}

// Load is one entry of GET /load/{user_token} (the SDK's Loads).
type Load struct {
	LoadToken    string          `json:"load_token"`
	ClientLoadID string          `json:"client_load_id"`
	SourceToken  string          `json:"source_token"`
	Amount       decimal.Decimal `json:"amount"`
	Status       string          `json:"status"`
	WalletToken  string          `json:"wallet_token"`
	TimeOfLoad   string          `json:"time_of_load"`
	Notes        string          `json:"notes"`
	CurrencyCode string          `json:"source_currency_code"`
	Metadata     map[string]any  `json:"metadata,omitempty"`
}

// RouteParams are the query parameters of the country route endpoints.
type RouteParams struct {
	Amount              *decimal.Decimal
	SourceCurrency      string
	DestinationCurrency string
	PayerNames          []string // joined with "|"
	OnlyGenericPayers   bool
	UserToken           string
	WalletToken         string
	Limit               int
}

// CountryServices is the answer of GET /country/{cc}, /best and /cheapest.
type CountryServices struct {
	Companies []Company `json:"companies"`
}

// Company is a payout provider within CountryServices.
type Company struct {
	CompanyName string           `json:"company_name"`
	Rating      *decimal.Decimal `json:"rating"`
	Description string           `json:"description"`
	CompanyLogo string           `json:"company_logo"`
	Services    []Service        `json:"services"`
}

// Service is one delivery type of a company in one country.
type Service struct {
	CountryCode  string  `json:"country_code"`
	DeliveryType string  `json:"delivery_type"`
	Payers       []Payer `json:"payers"`
}

// Payer is one route: its DestinationToken is what a payout is sent to.
type Payer struct {
	DestinationToken      string          `json:"destination_token"`
	PayerName             string          `json:"payer_name"`
	PayerLogo             string          `json:"payer_logo,omitempty"`
	ExchangeRate          []ExchangeRate  `json:"exchange_rate"`
	Fee                   decimal.Decimal `json:"fee"`
	MinLimit              decimal.Decimal `json:"min_limit"`
	MaxLimit              decimal.Decimal `json:"max_limit"`
	SourceAmount          decimal.Decimal `json:"source_amount"`
	NumberOfLocations     int             `json:"number_of_locations"`
	EstimatedAvailability string          `json:"estimated_availability"`
	AdditionalDescription string          `json:"additional_description,omitempty"`
	IsDynamicToken        bool            `json:"is_dynamic_token"`
}

// ExchangeRate is the rate from the source currency to CurrencySymbol.
type ExchangeRate struct {
	CurrencySymbol string          `json:"currency_symbol"`
	ExchangeRate   decimal.Decimal `json:"exchange_rate"`
}

// Route is a flattened payer with the company and service it belongs to, the
// form the runner works with.
type Route struct {
	CompanyName  string
	CountryCode  string
	DeliveryType string
	Payer
}

// Routes flattens the companies of a CountryServices answer into routes, in
// the order MassPay gave them (best first for /best and /cheapest).
func (c CountryServices) Routes() []Route {
	var out []Route
	for _, co := range c.Companies {
		for _, s := range co.Services {
			for _, p := range s.Payers {
				out = append(out, Route{CompanyName: co.CompanyName, CountryCode: s.CountryCode, DeliveryType: s.DeliveryType, Payer: p})
			}
		}
	}
	return out
}

// Country is one entry of GET /country/list.
type Country struct {
	Code            string `json:"code"`
	Name            string `json:"name"`
	ThreeLetterCode string `json:"three_letter_code"`
}

// AttrsRequirement is one entry of GET /attribute/{user}/{destination}/{currency}.
type AttrsRequirement struct {
	Token             string `json:"token"`
	AttrSetToken      string `json:"attr_set_token,omitempty"`
	Label             string `json:"label"`
	Validation        string `json:"validation"`
	IsOptional        bool   `json:"is_optional"`
	Value             string `json:"value,omitempty"`
	ExpectedValue     string `json:"expected_value,omitempty"`
	Type              string `json:"type"`
	InputType         string `json:"input_type"`
	LastAttrValueUsed bool   `json:"last_attr_value_used"`
}

// AttrValue is one value to store with POST /attribute/...
type AttrValue struct {
	Token string `json:"token"`
	Value string `json:"value"`
}

// AttrTxn is the body of POST /attribute/{user}/{destination}/{currency}.
type AttrTxn struct {
	Values       []AttrValue `json:"values"`
	AttrSetToken string      `json:"attr_set_token,omitempty"`
}

// AttrTxnResp is the answer of POST /attribute/...
type AttrTxnResp struct {
	AttrSetToken string `json:"attr_set_token"`
}

// PayoutTxn is the body of POST /{user_token}. Exactly one of
// SourceAmount and DestinationAmount is set.
type PayoutTxn struct {
	ClientTransferID        string           `json:"client_transfer_id,omitempty"`
	SourceCurrencyCode      string           `json:"source_currency_code,omitempty"`
	DestinationCurrencyCode string           `json:"destination_currency_code"`
	SourceToken             string           `json:"source_token"`
	DestinationToken        string           `json:"destination_token"`
	SourceAmount            *decimal.Decimal `json:"source_amount,omitempty"`
	DestinationAmount       *decimal.Decimal `json:"destination_amount,omitempty"`
	AttrSetToken            string           `json:"attr_set_token,omitempty"`
	Metadata                map[string]any   `json:"metadata,omitempty"`
	NotifyUser              *bool            `json:"notify_user,omitempty"`
	AutoCommit              *bool            `json:"auto_commit,omitempty"`
}

// PayoutTxnResp is the answer of POST /{user_token} and of the payout
// status and list endpoints. PayoutToken is the literal "NSF" or "DUPLICATE"
// when MassPay refuses inside a 200 answer.
type PayoutTxnResp struct {
	PayoutToken             string          `json:"payout_token"`
	ClientTransferID        string          `json:"client_transfer_id"`
	SourceCurrencyCode      string          `json:"source_currency_code"`
	DestinationCurrencyCode string          `json:"destination_currency_code"`
	SourceToken             string          `json:"source_token"`
	DestinationToken        string          `json:"destination_token"`
	SourceAmount            decimal.Decimal `json:"source_amount"`
	DestinationAmount       decimal.Decimal `json:"destination_amount"`
	AttrSetToken            string          `json:"attr_set_token"`
	ExchangeRate            decimal.Decimal `json:"exchange_rate"`
	Fee                     decimal.Decimal `json:"fee"`
	Expiration              string          `json:"expiration"`
	PickupCode              string          `json:"pickup_code"`
	Status                  string          `json:"status"`
	PayerLogo               string          `json:"payer_logo,omitempty"`
	PayerName               string          `json:"payer_name"`
	DeliveryType            string          `json:"delivery_type"`
	CountryCode             string          `json:"country_code"`
	Metadata                map[string]any  `json:"metadata,omitempty"`
	EstimatedAvailability   string          `json:"estimated_availability"`
	StatusReason            string          `json:"status_reason,omitempty"`
	Attrs                   map[string]any  `json:"attrs,omitempty"`
}

// PayoutTxnCommitResp is the answer of PUT /{user_token}/{payout_token}.
type PayoutTxnCommitResp struct {
	PayoutToken string     `json:"payout_token"`
	Status      string     `json:"status"`
	PickupCode  string     `json:"pickup_code,omitempty"`
	Errors      FlexErrors `json:"errors,omitempty"`
}

// FlexErrors holds the "errors" field of a commit answer, which MassPay sends
// as a string in its guides and as a list in some SDK models.
type FlexErrors []string

// UnmarshalJSON accepts a string, a list of strings or null.
func (f *FlexErrors) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" || s == "" {
		*f = nil
		return nil
	}
	if strings.HasPrefix(s, "[") {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*f = list
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	if one == "" {
		*f = nil
	} else {
		*f = FlexErrors{one}
	}
	return nil
}

// MarshalJSON writes the errors as one string, the SDK's type
// (PayoutTxnCommitResp.errors: string).
func (f FlexErrors) MarshalJSON() ([]byte, error) { return json.Marshal(f.String()) }

// String joins the errors with "; ".
func (f FlexErrors) String() string { return strings.Join(f, "; ") }

// PDFConfirmation is the answer of PATCH /{user_token}/{payout_token} (the
// payout's confirmation) and of GET /account/statement: a PDF, base64.
type PDFConfirmation struct {
	Content string `json:"content"`
}

// Wallet is one entry of GET /wallet/{user_token}.
type Wallet struct {
	Token            string          `json:"token"`
	UserToken        string          `json:"user_token"`
	Balance          decimal.Decimal `json:"balance"`
	CurrencyCode     string          `json:"currency_code"`
	Type             string          `json:"type"`
	Active           bool            `json:"active"`
	ClientPayingFees bool            `json:"client_paying_fees"`
}

// AutopayRule is one entry of GET /wallet/{user}/{wallet}/autopayout and the
// answer of POST.
type AutopayRule struct {
	Token            string          `json:"token"`
	DestinationToken string          `json:"destination_token"`
	Percentage       decimal.Decimal `json:"percentage"`
	AttrSetToken     string          `json:"attr_set_token,omitempty"`
}

// AutopayRuleTxn is the body of POST /wallet/{user}/{wallet}/autopayout.
type AutopayRuleTxn struct {
	DestinationToken string          `json:"destination_token"`
	Percentage       decimal.Decimal `json:"percentage"`
	AttrSetToken     string          `json:"attr_set_token,omitempty"`
}

// TaxYearUser is one entry of GET /tax.
// The SDK (TaxYearUserResp) declares postal_code a number; PostalCode
// takes either. InternalUserID is not in the SDK's model: payrun's tax report
// shows it when MassPay sends it.
type TaxYearUser struct {
	UserToken      string          `json:"user_token"`
	InternalUserID string          `json:"internal_user_id,omitempty"`
	FirstName      string          `json:"first_name"`
	MiddleName     string          `json:"middle_name,omitempty"`
	LastName       string          `json:"last_name"`
	BusinessName   string          `json:"business_name,omitempty"`
	Email          string          `json:"email"`
	MobileNumber   string          `json:"mobile_number,omitempty"`
	DateOfBirth    string          `json:"date_of_birth"`
	Country        string          `json:"country"`
	Address1       string          `json:"address1"`
	Address2       string          `json:"address2,omitempty"`
	City           string          `json:"city"`
	StateProvince  string          `json:"state_province,omitempty"`
	PostalCode     NumberText      `json:"postal_code,omitempty"`
	Balance        decimal.Decimal `json:"balance"`
	TaxID          string          `json:"tax_id,omitempty"`
}

// NumberText is a field MassPay's SDK declares as a JSON number although
// it holds text such as a postal code. It decodes from a number or a string
// and keeps the text as sent; it encodes as a number when the text is one
// (the SDK's type) and as a string otherwise.
type NumberText string

// UnmarshalJSON accepts a JSON number, a string or null.
func (n *NumberText) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	switch {
	case s == "null":
		*n = ""
	case strings.HasPrefix(s, `"`):
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*n = NumberText(v)
	default:
		var num json.Number
		if err := json.Unmarshal(b, &num); err != nil {
			return err
		}
		*n = NumberText(num.String())
	}
	return nil
}

// MarshalJSON writes the text as a JSON number when it is a valid one.
func (n NumberText) MarshalJSON() ([]byte, error) {
	if n.IsNumber() {
		return []byte(n), nil
	}
	return json.Marshal(string(n))
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// IsNumber reports whether the text is a valid JSON number (10001 is,
// 01234 and SW1A 1AA are not).
func (n NumberText) IsNumber() bool { return jsonNumber.MatchString(string(n)) }

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
