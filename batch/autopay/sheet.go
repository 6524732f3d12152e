package autopay

import (
	"fmt"
	"io"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/shopspring/decimal"
)

// Column names of the autopay rules sheet that the payout sheet does not
// have. The route columns (destination_token, country, delivery_type,
// payer_name, destination_currency, attr:<Type>) and internal_user_id are the
// payout sheet's, matched by MatchHeader with the same aliases.
const (
	ColPercentage     = "percentage"
	ColAction         = "action"
	ColWalletCurrency = "wallet_currency"
)

// Actions of an autopay rules sheet row.
const (
	AutopayActionAdd    = "add"
	AutopayActionRemove = "remove"
)

// AutopayColumns documents the autopay rules sheet, in template order.
var AutopayColumns = []sheet.ColumnDoc{
	{Name: sheet.ColInternalUserID, Aliases: nil, Required: true, Doc: "Your id for the payee, as in the payout sheets. The payee must already exist in MassPay (paid once)."},
	{Name: ColWalletCurrency, Aliases: []string{"wallet currency", "wallet ccy", "source_currency", "currency"}, Required: false,
		Doc: "Currency of the payee's wallet the rule watches. Default USD."},
	{Name: ColPercentage, Aliases: []string{"percent", "pct", "%", "share", "autopay_percentage", "autopay %", "autopay percent"}, Required: true,
		Doc: "Share of every load into the wallet that is sent on automatically, greater than 0 and at most 100 (e.g. 25 or 25%). The rules of one wallet may add up to at most 100."},
	{Name: sheet.ColDestinationToken, Aliases: []string{"dest token", "destination", "route token"}, Required: false,
		Doc: "A MassPay destination token (dst_...). Leave empty to give the route by country + delivery_type."},
	{Name: sheet.ColCountry, Aliases: []string{"country code", "country iso", "iso country", "recipient country"}, Required: false,
		Doc: "Country the money goes to: ISO alpha-3 (MEX), alpha-2 (MX) or the English name."},
	{Name: sheet.ColDeliveryType, Aliases: []string{"delivery", "delivery method"}, Required: false, Doc: "BANK_DEPOSIT, CASH_PICKUP, MOBILE_WALLET, CRYPTOCURRENCY, ..."},
	{Name: sheet.ColPayerName, Aliases: []string{"payer", "provider"}, Required: false, Doc: "The payer to use, e.g. Bank Deposit, GCash, Interac. Empty: the generic one."},
	{Name: sheet.ColDestinationCurrency, Aliases: []string{"dest currency", "to currency", "payout currency", "receive currency", "destination ccy"}, Required: false,
		Doc: "Currency the payee receives. Default: the route's currency."},
	{Name: ColAction, Aliases: []string{"operation", "op"}, Required: false,
		Doc: "add (the default: make sure the rule exists with this percentage) or remove (delete the payee's rule to this route)."},
}

var autopayAliases = func() map[string]string {
	m := map[string]string{}
	for _, c := range AutopayColumns {
		m[sheet.FoldHeader(c.Name)] = c.Name
		for _, a := range c.Aliases {
			m[sheet.FoldHeader(a)] = c.Name
		}
	}
	return m
}()

// matchAutopayHeader is MatchHeader for the autopay rules sheet: its own
// columns first, then the payout sheet's route columns and attr: columns.
func matchAutopayHeader(h string) string {
	if k, ok := autopayAliases[sheet.FoldHeader(strings.TrimSpace(h))]; ok {
		return k
	}
	k, _ := sheet.MatchHeader(h)
	switch {
	case strings.HasPrefix(k, sheet.AttrPrefix), k == sheet.ColInternalUserID:
		return k
	}
	return ""
}

// AutopayRoute is where an autopay rule sends money: a destination token, or
// a country with a delivery type (and optionally a payer), like a payout row.
// Attrs are the payee's details for the route (attr:<Type> columns).
type AutopayRoute struct {
	DestinationToken    string
	Country             string // ISO alpha-3
	DeliveryType        string
	PayerName           string
	DestinationCurrency string
	Attrs               map[string]string
}

// key identifies the route as the sheet wrote it, to find rows that name the
// same route twice before any call resolves it.
func (r AutopayRoute) key() string {
	if r.DestinationToken != "" {
		return r.DestinationToken
	}
	return strings.ToUpper(strings.Join([]string{r.Country, r.DeliveryType, r.PayerName, r.DestinationCurrency}, "|"))
}

// String names the route for a person.
func (r AutopayRoute) String() string {
	if r.DestinationToken != "" && r.Country == "" {
		return r.DestinationToken
	}
	s := strings.TrimSpace(strings.Join([]string{r.Country, r.DeliveryType, r.PayerName}, " "))
	if r.DestinationCurrency != "" {
		s += " in " + r.DestinationCurrency
	}
	return s
}

// AutopayRuleRow is one row of an autopay rules sheet.
type AutopayRuleRow struct {
	Line  int
	Sheet string

	InternalUserID string
	WalletCurrency string // default USD
	Action         string // AutopayActionAdd (default) or AutopayActionRemove
	// Percentage is zero when the cell is empty (allowed for remove).
	Percentage decimal.Decimal
	Route      AutopayRoute

	// Problems are what reading the row's cells found wrong.
	Problems []sheet.Problem
}

// AutopaySheet is an autopay rules sheet read into memory; such sheets hold
// one row per payee and route, so they are small.
type AutopaySheet struct {
	Name string
	Rows []AutopayRuleRow
	// Problems are the header's (missing columns).
	Problems sheet.Problems
}

// ReadAutopaySheet reads an autopay rules sheet (CSV or XLSX). Mistakes in
// the cells are in each row's Problems and the header's in the sheet's;
// ValidateAutopaySheet checks the rest. The error is only for a file that
// cannot be read as a sheet at all.
func ReadAutopaySheet(path string, opts ingest.IngestOptions) (*AutopaySheet, error) {
	isHeader := func(cells []string) bool {
		var user, rule bool
		for _, c := range cells {
			switch matchAutopayHeader(c) {
			case sheet.ColInternalUserID:
				user = true
			case ColPercentage, sheet.ColDestinationToken, sheet.ColCountry:
				rule = true
			}
		}
		return user && rule
	}
	rs, err := ingest.OpenRawSheet(path, opts, isHeader, func(h string) bool { return matchAutopayHeader(h) == ColPercentage })
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	s := &AutopaySheet{Name: rs.Name}
	keys := make([]string, len(rs.Header))
	seen := map[string]int{}
	for i, h := range rs.Header {
		k := matchAutopayHeader(h)
		if j, dup := seen[k]; dup && k != "" {
			s.Problems = append(s.Problems, sheet.Problem{Sheet: s.Name, Line: rs.HeaderLine, Column: h, Rule: "duplicate_column",
				Message: fmt.Sprintf("column %s appears twice (columns %s and %s); keep one", k, sheet.ColumnLetter(j), sheet.ColumnLetter(i))})
			continue
		}
		seen[k], keys[i] = i, k
	}
	for _, req := range []string{sheet.ColInternalUserID, ColPercentage} {
		if _, ok := seen[req]; !ok {
			s.Problems = append(s.Problems, sheet.Problem{Sheet: s.Name, Line: rs.HeaderLine, Column: req, Rule: "missing_column",
				Message: fmt.Sprintf("required column %s is missing from the header", req)})
		}
	}
	_, tok := seen[sheet.ColDestinationToken]
	_, ctry := seen[sheet.ColCountry]
	if !tok && !ctry {
		s.Problems = append(s.Problems, sheet.Problem{Sheet: s.Name, Line: rs.HeaderLine, Column: sheet.ColDestinationToken, Rule: "missing_column",
			Message: "the sheet needs a destination_token column, or country and delivery_type columns, to say where each rule sends money"})
	}
	for {
		line, cells, err := rs.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.Name, err)
		}
		if ingest.Blank(cells) {
			continue
		}
		s.Rows = append(s.Rows, buildAutopayRow(s.Name, line, rs.Header, keys, cells))
	}
	return s, nil
}

// buildAutopayRow reads one row's cells. A percentage is read by
// parsePercent's own rule (a lone comma is a decimal comma), so the file's
// decimal mark does not matter.
func buildAutopayRow(sheetName string, line int, header, keys, cells []string) AutopayRuleRow {
	r := AutopayRuleRow{Line: line, Sheet: sheetName, WalletCurrency: "USD", Action: AutopayActionAdd}
	for i, k := range keys {
		if k == "" || i >= len(cells) {
			continue
		}
		raw := cells[i]
		v := strings.TrimSpace(raw)
		if v == "" {
			continue
		}
		switch {
		case strings.HasPrefix(k, sheet.AttrPrefix):
			if r.Route.Attrs == nil {
				r.Route.Attrs = map[string]string{}
			}
			r.Route.Attrs[k[len(sheet.AttrPrefix):]] = v
			continue
		}
		switch k {
		case sheet.ColInternalUserID:
			r.InternalUserID = v
		case ColWalletCurrency:
			r.WalletCurrency = strings.ToUpper(v)
		case ColAction:
			r.Action = strings.ToLower(v)
		case ColPercentage:
			d, err := ingest.ParsePercent(v)
			if err != nil {
				r.Problems = append(r.Problems, sheet.Problem{Sheet: sheetName, Line: line, Column: header[i], Value: raw, Rule: "bad_percentage",
					Message: fmt.Sprintf("%q is not a percentage; write it like 25 or 25%%", v)})
			} else {
				r.Percentage = d
			}
		case sheet.ColDestinationToken:
			r.Route.DestinationToken = v
		case sheet.ColCountry:
			r.Route.Country = v
			if c, ok := sheet.LookupCountry(v); ok {
				r.Route.Country = c.Alpha3
			}
		case sheet.ColDeliveryType:
			r.Route.DeliveryType = strings.ToUpper(strings.NewReplacer(" ", "_", "-", "_").Replace(v))
		case sheet.ColPayerName:
			r.Route.PayerName = v
		case sheet.ColDestinationCurrency:
			r.Route.DestinationCurrency = strings.ToUpper(v)
		}
	}
	return r
}
