package masspay

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/shopspring/decimal"
)

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
