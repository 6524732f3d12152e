package masspay

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

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
