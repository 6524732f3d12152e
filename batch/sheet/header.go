package sheet

import (
	"strings"
	"unicode"
)

// Canonical column names of the payout sheet (see the Sheet columns section
// of the design). attr:<Type> and metadata:<key> columns are matched by
// prefix and are not listed here.
const (
	ColClientTransferID    = "client_transfer_id"
	ColInternalUserID      = "internal_user_id"
	ColFirstName           = "first_name"
	ColLastName            = "last_name"
	ColEmail               = "email"
	ColCountry             = "country"
	ColAmount              = "amount"
	ColMethod              = "method"
	ColSourceCurrency      = "source_currency"
	ColDestinationCurrency = "destination_currency"
	ColAmountIs            = "amount_is"
	ColDeliveryType        = "delivery_type"
	ColPayerName           = "payer_name"
	ColDestinationToken    = "destination_token"
	ColNotes               = "notes"
	ColNotifyUser          = "notify_user"
	ColTimeToProcess       = "time_to_process"
	ColAddress1            = "address1"
	ColAddress2            = "address2"
	ColCity                = "city"
	ColStateProvince       = "state_province"
	ColPostalCode          = "postal_code"
	ColMiddleName          = "middle_name"
	ColLanguage            = "language"
	ColMobileNumber        = "mobile_number"
	ColBusinessName        = "business_name"
	ColDateOfBirth         = "date_of_birth"
	ColAutopayPercentage   = "autopay_percentage"

	// AttrPrefix and MetadataPrefix start the names of route attribute and
	// metadata columns.
	AttrPrefix     = "attr:"
	MetadataPrefix = "metadata:"
)

// RequiredColumns must be present in every sheet.
var RequiredColumns = []string{
	ColClientTransferID, ColInternalUserID, ColFirstName, ColLastName, ColEmail, ColCountry, ColAmount,
}

// ColumnDoc describes one known column: its canonical name, the other
// spellings accepted for it, and a sentence for the template's notes.
type ColumnDoc struct {
	Name     string
	Aliases  []string
	Required bool
	Doc      string
}

// KnownColumns is the table header matching is driven by, in template order.
var KnownColumns = []ColumnDoc{
	{ColClientTransferID, []string{"transfer id", "payment id", "payout id", "client reference", "reference", "transfer reference"}, true,
		"Your unique id for this payment, at most 50 characters. It makes re-runs safe: a row is never paid twice under the same id. Ids starting with EXAMPLE- mark the template's example row and are never paid."},
	{ColInternalUserID, []string{"user id", "payee id", "employee id", "contractor id", "freelancer id", "vendor id", "recipient id"}, true,
		"Your id for the payee. The same person keeps the same id every month."},
	{ColFirstName, []string{"given name", "forename", "first"}, true, "Payee's first name."},
	{ColLastName, []string{"surname", "family name", "last"}, true, "Payee's last name."},
	{ColEmail, []string{"email address", "e-mail", "e-mail address", "mail"}, true, "Payee's email address."},
	{ColCountry, []string{"country code", "country iso", "iso country", "recipient country"}, true,
		"Payee's country: ISO alpha-3 (MEX), alpha-2 (MX) or the English name (Mexico)."},
	{ColAmount, []string{"amt", "pay amount", "payout amount", "payment amount", "amount to pay"}, true,
		"Amount to pay, a plain number with at most as many decimals as the currency allows (USD 2, JPY 0, BTC 8)."},
	{ColMethod, []string{"payment method", "payout method"}, false,
		"load (credit the payee's MassPay wallet; the default) or payout (send straight to a bank, cash pickup, mobile wallet or crypto address)."},
	{ColSourceCurrency, []string{"currency", "from currency", "source ccy", "funding currency"}, false,
		"Currency paid from, one of your MassPay balances. Default USD."},
	{ColDestinationCurrency, []string{"dest currency", "to currency", "payout currency", "receive currency", "destination ccy"}, false,
		"Currency the payee receives (payouts). Default: the country's currency."},
	{ColAmountIs, []string{"amount in", "amount type"}, false,
		"source (default: amount is what you send) or destination (amount is what the payee receives)."},
	{ColDeliveryType, []string{"delivery", "delivery method"}, false,
		"Payouts: BANK_DEPOSIT, CASH_PICKUP, MOBILE_WALLET, CRYPTOCURRENCY, ..."},
	{ColPayerName, []string{"payer", "provider"}, false, "Payouts: the payer (provider) to use, e.g. Bank Deposit, GCash, Interac. Empty: the generic one."},
	{ColDestinationToken, []string{"dest token", "destination", "route token"}, false,
		"Payouts: a MassPay destination token (dst_...) instead of country + delivery_type."},
	{ColNotes, []string{"note", "memo", "comment", "comments", "description"}, false, "Free text shown to the payee; not part of the payment's identity."},
	{ColNotifyUser, []string{"notify", "send notification", "email payee"}, false, "yes or no: should MassPay email the payee."},
	{ColTimeToProcess, []string{"scheduled for", "schedule", "process at", "process on", "scheduled date", "pay date"}, false,
		"Loads: a future time to process it, e.g. 2026-07-01 09:00 or 2026-07-01T09:00:00Z."},
	{ColAddress1, []string{"address", "address line 1", "street"}, false, "Payee's street address."},
	{ColAddress2, []string{"address line 2"}, false, "Second address line."},
	{ColCity, []string{"town"}, false, "Payee's city."},
	{ColStateProvince, []string{"state", "province", "region"}, false, "State or province."},
	{ColPostalCode, []string{"zip", "zip code", "postcode", "post code"}, false, "Postal code."},
	{ColMiddleName, nil, false, "Payee's middle name."},
	{ColLanguage, []string{"lang"}, false, "Payee's language, e.g. en, es, pt."},
	{ColMobileNumber, []string{"mobile", "phone", "phone number", "cell", "cell phone"}, false, "Payee's mobile number with country code."},
	{ColBusinessName, []string{"company", "company name"}, false, "Business name when the payee is a company."},
	{ColDateOfBirth, []string{"dob", "birth date", "birthdate", "birthday"}, false, "Payee's date of birth, YYYY-MM-DD."},
	{ColAutopayPercentage, []string{"autopay", "autopay percent", "autopay %"}, false,
		"Percentage (1-100) of future wallet funds to send on automatically by this row's route."},
}

// AttributeTypes are the route attribute types the catalog knows; an
// attr: column whose suffix folds to one of them takes its spelling.
var AttributeTypes = []string{
	"BankAccountNumber", "BankRoutingNumber", "IdentificationNumber", "BankCode", "PhoneNumber",
	"EmailAddress", "WalletAddress", "BankAccountType", "BankName", "BranchCode", "IBAN", "SwiftCode",
	"BeneficiaryName", "IdentificationType", "DateOfBirth", "Address", "City", "PostalCode",
}

// Column is one column of a sheet as read: where it is, how the sheet wrote
// it, and what it means. Key is the canonical name (attr:Type and
// metadata:key included) or "" for an unknown column.
type Column struct {
	Index  int
	Header string
	Key    string
	// Currency is set when the header names the amount's currency, as in
	// "Amount (USD)"; it is the default source currency.
	Currency string
}

var (
	aliasIndex = map[string]string{}
	attrIndex  = map[string]string{}
)

func init() {
	for _, c := range KnownColumns {
		aliasIndex[FoldHeader(c.Name)] = c.Name
		for _, a := range c.Aliases {
			aliasIndex[FoldHeader(a)] = c.Name
		}
	}
	for _, t := range AttributeTypes {
		attrIndex[FoldHeader(t)] = t
	}
}

// FoldHeader is a header with case, spaces, dashes, underscores, dots and
// brackets removed: "E-mail Address" and "email_address" both fold to
// "emailaddress".
func FoldHeader(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case r == '%' || r == ':':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MatchHeader returns the canonical key of a header cell, or "" when the
// header is not a known column. "E-mail", "Email Address" -> "email";
// "ATTR: bankaccountnumber" -> "attr:BankAccountNumber"; "metadata:Cost
// Center" -> "metadata:Cost Center" (the key is kept as written). The second
// result is the currency a header such as "Amount (USD)" names.
func MatchHeader(h string) (key, currency string) {
	t := strings.TrimSpace(h)
	if p, rest, ok := cutFoldedPrefix(t, "attr", "attribute"); ok {
		if rest == "" {
			return "", ""
		}
		if canon, ok := attrIndex[FoldHeader(rest)]; ok {
			return AttrPrefix + canon, ""
		}
		_ = p
		return AttrPrefix + rest, ""
	}
	if _, rest, ok := cutFoldedPrefix(t, "metadata", "meta"); ok {
		if rest == "" {
			return "", ""
		}
		return MetadataPrefix + rest, ""
	}
	f := FoldHeader(t)
	if k, ok := aliasIndex[f]; ok {
		return k, ""
	}
	// "Amount USD", "Amount (EUR)", "USD amount".
	for _, a := range []string{"amount", "amt", "payamount", "payoutamount"} {
		if len(f) == len(a)+3 {
			var code string
			if strings.HasPrefix(f, a) {
				code = f[len(a):]
			} else if strings.HasSuffix(f, a) {
				code = f[:3]
			}
			if c, ok := LookupCurrency(code); ok && code != "" {
				return ColAmount, c.Code
			}
		}
	}
	return "", ""
}

// cutFoldedPrefix matches "<word>:" at the start of s, ignoring case and
// spaces around the colon, and returns the rest trimmed.
func cutFoldedPrefix(s string, words ...string) (string, string, bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	head := strings.ToLower(strings.TrimSpace(s[:i]))
	for _, w := range words {
		if head == w {
			return w, strings.TrimSpace(s[i+1:]), true
		}
	}
	return "", "", false
}

// KnownHeaderCount counts the cells of a row that are known columns; a row
// with at least 3 is taken as the header.
func KnownHeaderCount(cells []string) int {
	n := 0
	for _, c := range cells {
		if k, _ := MatchHeader(c); k != "" {
			n++
		}
	}
	return n
}

// ColumnLetter is the spreadsheet letter of a 0-based column index.
func ColumnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// MaxCellChars is the most characters an Excel cell holds
// (excelize.TotalCellChars); Excel refuses longer.
const MaxCellChars = 32767

// The results workbook's own columns. Ingest caps a sheet's width by their
// count; they are defined here, below both, so ingest need not import the
// results.

// FrontColumns are the first columns of the results, the ones a person
// reads to tie a printed or filtered row back to a payee: who, how much,
// what happened and what to do. The sheet's own columns follow them, then
// DetailColumns. The sheet's client_transfer_id and amount columns are
// these first two, so the echo leaves them out.
var FrontColumns = []string{
	"client_transfer_id", "payee", "amount", "currency",
	"result", "action_needed", "kyc_upload_link", "error",
}

// DetailColumns are payrun's columns after the sheet's own: what MassPay
// answered, for reconciling rather than for acting on.
var DetailColumns = []string{
	"masspay_status", "status_changed_at",
	"payout_token", "load_token", "fee", "exchange_rate",
	"source_amount", "destination_amount", "destination_currency",
	"pickup_code", "payer_name", "delivery_type", "estimated_availability",
	"attempts", "updated_at",
}

// ResultColumns are every column payrun adds to the sheet's own:
// FrontColumns, then DetailColumns.
var ResultColumns = append(append([]string{}, FrontColumns...), DetailColumns...)
