package validate

import (
	"fmt"
	"hash/maphash"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/shopspring/decimal"
)

// ValidateOptions are the limits a sheet is checked against.
type ValidateOptions struct {
	// MaxAmount refuses any row whose amount exceeds it, in the row's own
	// source currency (--max-amount).
	MaxAmount *decimal.Decimal
	// MaxTotal refuses the sheet when the amounts of one source currency add
	// up to more than it (--max-total).
	MaxTotal *decimal.Decimal
	// Now is the present, for time_to_process; zero means time.Now().
	Now time.Time
}

// deliveryTypes are the delivery types MassPay knows.
var deliveryTypes = map[string]bool{
	"BANK_DEPOSIT": true, "CASH_PICKUP": true, "HOME_DELIVERY": true, "MOBILE_WALLET": true,
	"MASSPAY_CARD": true, "PAPER_CHECK": true, "BILL": true, sheet.DeliveryCryptocurrency: true,
}

// DeliveryTypes lists the delivery types a sheet may name, for templates.
var DeliveryTypes = []string{"BANK_DEPOSIT", "CASH_PICKUP", "MOBILE_WALLET", "CRYPTOCURRENCY", "HOME_DELIVERY", "MASSPAY_CARD", "PAPER_CHECK", "BILL"}

// key128 is a 128-bit hash standing in for a string the validator must
// remember for every row (a client_transfer_id), so memory per row stays a
// few bytes whatever the ids look like. Two different ids collide with
// probability about n²/2¹²⁹: never, in practice.
type key128 struct{ a, b uint64 }

var seedA, seedB = maphash.MakeSeed(), maphash.MakeSeed()

func hash128(s string) key128 { return key128{maphash.String(seedA, s), maphash.String(seedB, s)} }

// Validator checks rows one at a time, remembering only what checks across
// rows need: a hash and a row number per client_transfer_id and per payee
// and amount (see dupes.go), and a total per currency. Use NewValidator,
// Check each row, then Finish.
type Validator struct {
	opts    ValidateOptions
	sheet   string
	headers map[string]string // canonical key -> header as written
	present map[string]bool   // canonical keys the header has
	keys    []string          // canonical key of each column, by position; nil for hand-built rows
	dupes   dupState
	totals  map[string]decimal.Decimal
	rows    int
}

// NewValidator returns a Validator for the sheet named sheet with the given
// header columns (nil when rows were built by hand: every column is then
// taken to be present and named canonically).
func NewValidator(sheetName string, cols []sheet.Column, opts ValidateOptions) *Validator {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	v := &Validator{opts: opts, sheet: sheetName, headers: map[string]string{}, dupes: newDupState(), totals: map[string]decimal.Decimal{}}
	if cols != nil {
		v.present = map[string]bool{}
		v.keys = make([]string, len(cols))
		for i, c := range cols {
			v.keys[i] = c.Key
			if c.Key != "" {
				v.headers[c.Key], v.present[c.Key] = c.Header, true
			}
		}
	}
	return v
}

func (v *Validator) col(key string) string {
	if h, ok := v.headers[key]; ok && h != "" {
		return h
	}
	return key
}

func (v *Validator) has(key string) bool { return v.present == nil || v.present[key] }

// Check validates one row and returns its problems, the row's own ingest
// Problems included. A duplicate client_transfer_id also yields a problem
// for the earlier row, the first time it is seen again.
func (v *Validator) Check(r sheet.Row) []sheet.Problem { return v.CheckAppend(nil, r) }

// check appends the row's problems to ps. ValidateFile passes the problems
// so far, so a bounded validator's placeholders know their index.
func (v *Validator) CheckAppend(ps []sheet.Problem, r sheet.Row) []sheet.Problem {
	v.rows++
	ps = append(ps, r.Problems...)
	if len(r.Problems) == 1 && r.Problems[0].Rule == sheet.RuleTotalRow {
		return ps // a total line: one mistake, not one per empty column
	}
	sheetName := r.Sheet
	if sheetName == "" {
		sheetName = v.sheet
	}
	add := func(key, val, rule string, sev sheet.Severity, format string, args ...any) {
		ps = append(ps, sheet.Problem{Sheet: sheetName, Line: r.Line, Column: v.col(key), Value: val, Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)})
	}
	errf := func(key, val, rule, format string, args ...any) {
		add(key, val, rule, sheet.SeverityError, format, args...)
	}
	hasProblem := func(rule string) bool {
		for _, p := range r.Problems {
			if p.Rule == rule {
				return true
			}
		}
		return false
	}

	for _, f := range []struct{ key, val string }{
		{sheet.ColClientTransferID, r.ClientTransferID}, {sheet.ColInternalUserID, r.InternalUserID},
		{sheet.ColFirstName, r.FirstName}, {sheet.ColLastName, r.LastName}, {sheet.ColEmail, r.Email}, {sheet.ColCountry, r.Country},
	} {
		if f.val == "" && v.has(f.key) {
			errf(f.key, "", "required", "%s is empty; every row needs one", f.key)
		}
	}

	// client_transfer_id: length and uniqueness.
	if id := r.ClientTransferID; id != "" {
		if n := utf8.RuneCountInString(id); n > sheet.MaxClientTransferIDLen {
			errf(sheet.ColClientTransferID, ClipValue(id), "id_too_long", "%q is %d characters; MassPay allows at most %d", ClipValue(id), n, sheet.MaxClientTransferIDLen)
		}
		ps = v.checkID(ps, r, sheetName, id)
	}
	// Ids go into idempotency keys, URLs and the ledger's keys: a NUL or an
	// escape in one left a row pending forever.
	for _, f := range []struct{ key, val string }{{sheet.ColClientTransferID, r.ClientTransferID}, {sheet.ColInternalUserID, r.InternalUserID}} {
		if at, c := controlChar(f.val); at > 0 {
			errf(f.key, ClipValue(f.val), "control_character", "%q holds a control character (%U) at character %d; ids must be plain text", ClipValue(f.val), c, at)
		}
	}
	ps = v.checkCellSizes(ps, r, sheetName)

	if r.Email != "" && !validEmail(r.Email) {
		errf(sheet.ColEmail, r.Email, "bad_email", "%q is not an email address", r.Email)
	}
	if r.Country != "" {
		if _, ok := sheet.LookupCountry(r.Country); !ok {
			errf(sheet.ColCountry, r.Country, "bad_country", "%q is not a country; write an ISO code such as MEX or MX, or a name such as Mexico", r.Country)
		}
	}

	// Method and amount_is.
	switch r.Method {
	case sheet.MethodLoad, sheet.MethodPayout:
	case "":
		errf(sheet.ColMethod, "", "method_missing", "method is empty but the row names a route (%s); write payout to send it there, or load to credit the wallet", routeText(r))
	default:
		errf(sheet.ColMethod, r.Method, "bad_method", "%q is not a method; write load or payout", r.Method)
	}
	switch r.AmountIs {
	case sheet.AmountIsSource:
	case sheet.AmountIsDestination:
		if r.Method == sheet.MethodLoad {
			errf(sheet.ColAmountIs, r.AmountIs, "bad_amount_is", "amount_is destination applies to payouts only; a load is always in the source currency")
		}
	default:
		errf(sheet.ColAmountIs, r.AmountIs, "bad_amount_is", "%q is not source or destination", r.AmountIs)
	}

	// Currencies.
	src, srcOK := sheet.LookupCurrency(r.SourceCurrency)
	if !srcOK {
		errf(sheet.ColSourceCurrency, r.SourceCurrency, "bad_currency", "%q is not a currency code (ISO 4217 such as USD, or a crypto symbol such as BTC)", r.SourceCurrency)
	}
	dst, dstOK := sheet.LookupCurrency(r.DestinationCurrency)
	if r.DestinationCurrency != "" && !dstOK {
		errf(sheet.ColDestinationCurrency, r.DestinationCurrency, "bad_currency", "%q is not a currency code (ISO 4217 such as MXN, or a crypto symbol such as BTC)", r.DestinationCurrency)
	}

	// Payout route.
	if r.Method == sheet.MethodPayout {
		if r.DestinationToken == "" && (r.Country == "" || r.DeliveryType == "") {
			errf(sheet.ColDeliveryType, r.DeliveryType, "payout_route", "a payout needs a destination_token, or a country and a delivery_type (such as BANK_DEPOSIT)")
		}
		if r.DeliveryType != "" && !deliveryTypes[r.DeliveryType] {
			errf(sheet.ColDeliveryType, r.DeliveryType, "bad_delivery_type", "%q is not a delivery type; use one of %s", r.DeliveryType, strings.Join(DeliveryTypes, ", "))
		}
		if r.DestinationCurrency == "" && r.DestinationToken == "" {
			errf(sheet.ColDestinationCurrency, "", "required", "a payout needs a destination_currency")
		}
		if r.DeliveryType == sheet.DeliveryCryptocurrency && dstOK && !dst.Crypto {
			errf(sheet.ColDestinationCurrency, r.DestinationCurrency, "crypto_currency", "a CRYPTOCURRENCY payout pays a coin such as BTC, ETH or USDT, not %s", r.DestinationCurrency)
		}
		if dstOK && dst.Crypto && r.DeliveryType != "" && r.DeliveryType != sheet.DeliveryCryptocurrency {
			errf(sheet.ColDeliveryType, r.DeliveryType, "crypto_delivery", "a %s payout is delivered as CRYPTOCURRENCY, not %s", dst.Code, r.DeliveryType)
		}
	}
	if r.AmountIs == sheet.AmountIsDestination && r.DestinationCurrency == "" && r.Method == sheet.MethodPayout && r.DestinationToken != "" {
		errf(sheet.ColDestinationCurrency, "", "required", "amount_is destination needs the destination_currency the amount is in")
	}

	// Amount.
	amountCur, amountCurOK := src, srcOK
	if r.AmountIs == sheet.AmountIsDestination {
		amountCur, amountCurOK = dst, dstOK
	}
	switch {
	case hasProblem("bad_amount"):
	case r.Amount.IsZero() && r.AmountText == "" && v.has(sheet.ColAmount):
		if r.Amount.IsZero() {
			errf(sheet.ColAmount, "", "required", "amount is empty; every row needs one")
		}
	case r.Amount.Sign() <= 0:
		errf(sheet.ColAmount, amountShown(r), "amount_not_positive", "%q is not a positive amount", amountShown(r))
	case amountCurOK:
		if n := sheet.DecimalPlaces(r.Amount); n > amountCur.Decimals {
			errf(sheet.ColAmount, amountShown(r), "too_many_decimals", "%q has %d decimals; %s allows %d", amountShown(r), n, amountCur.Code, amountCur.Decimals)
		}
	}
	if r.Amount.Sign() > 0 && srcOK {
		if r.AmountIs == sheet.AmountIsSource {
			if v.opts.MaxAmount != nil && r.Amount.GreaterThan(*v.opts.MaxAmount) {
				errf(sheet.ColAmount, amountShown(r), "max_amount", "%s %s is over the per-row limit of %s (--max-amount)", r.Amount, src.Code, v.opts.MaxAmount)
			}
			v.totals[src.Code] = v.totals[src.Code].Add(r.Amount)
		} else if v.opts.MaxAmount != nil || v.opts.MaxTotal != nil {
			add(sheet.ColAmount, amountShown(r), "cap_unchecked", sheet.SeverityWarning, "the amount is in %s, the destination currency, so --max-amount and --max-total cannot check it before quoting", r.DestinationCurrency)
		}
		// The same payee twice with the same amount is often a double entry.
		ps = v.checkPayee(ps, r, sheetName)
	}

	if r.TimeToProcess != nil && !r.TimeToProcess.After(v.opts.Now) {
		errf(sheet.ColTimeToProcess, r.TimeToProcess.Format(time.RFC3339), "time_in_past", "%s is not in the future", r.TimeToProcess.Format("2006-01-02 15:04 MST"))
	}
	if p := r.AutopayPercentage; p != nil && (p.Sign() <= 0 || p.GreaterThan(decimal.NewFromInt(100))) {
		errf(sheet.ColAutopayPercentage, p.String(), "bad_percentage", "%s is not a percentage between 0 and 100", p)
	}
	return ps
}

// Finish returns the problems of the sheet as a whole: a total over
// MaxTotal, or no rows at all.
func (v *Validator) Finish() []sheet.Problem {
	var ps []sheet.Problem
	if v.rows == 0 {
		ps = append(ps, sheet.Problem{Sheet: v.sheet, Rule: "no_rows", Message: "the sheet has a header but no rows to pay"})
	}
	if v.opts.MaxTotal != nil {
		for _, code := range sortedKeys(v.totals) {
			if t := v.totals[code]; t.GreaterThan(*v.opts.MaxTotal) {
				ps = append(ps, sheet.Problem{Sheet: v.sheet, Column: v.col(sheet.ColAmount), Value: t.String(), Rule: "max_total",
					Message: fmt.Sprintf("the %s rows add up to %s, over the limit of %s for one sheet (--max-total)", code, t, v.opts.MaxTotal)})
			}
		}
	}
	return ps
}

// Totals returns the sum of the source-currency amounts, per currency.
func (v *Validator) Totals() map[string]decimal.Decimal {
	out := make(map[string]decimal.Decimal, len(v.totals))
	for k, t := range v.totals {
		out[k] = t
	}
	return out
}

// Rows is the number of rows checked.
func (v *Validator) Rows() int { return v.rows }

// Validate checks rows already in memory and returns every problem, sorted
// by row.
func Validate(rows []sheet.Row, opts ValidateOptions) sheet.Problems {
	sheetName := ""
	if len(rows) > 0 {
		sheetName = rows[0].Sheet
	}
	v := NewValidator(sheetName, nil, opts)
	var ps sheet.Problems
	for _, r := range rows {
		ps = append(ps, v.Check(r)...)
	}
	ps = append(ps, v.Finish()...)
	ps.Sort()
	return ps
}

// validEmail accepts a bare address with a dotted domain, the shape MassPay
// accepts; display names ("Ana <ana@x.com>") are refused.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") &&
		!strings.ContainsAny(s, " \t")
}

func amountShown(r sheet.Row) string {
	if r.AmountText != "" {
		return r.AmountText
	}
	return r.Amount.String()
}

func routeText(r sheet.Row) string {
	switch {
	case r.DestinationToken != "":
		return "destination_token " + r.DestinationToken
	case r.DeliveryType != "":
		return "delivery_type " + r.DeliveryType
	}
	return "payer_name " + r.PayerName
}

func payeeText(r sheet.Row) string {
	if r.Email != "" {
		return r.Email
	}
	return r.InternalUserID
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
