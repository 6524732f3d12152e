package results

import (
	"sort"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/sheet"
)

// Quote is what MassPay's routes say one payout row will cost.
type Quote struct {
	Line                int
	ID                  string
	Country             string
	DeliveryType        string
	PayerName           string
	DestinationToken    string
	SourceCurrency      string
	DestinationCurrency string
	Fee                 decimal.Decimal
	Rate                decimal.Decimal // destination units per source unit; zero if unknown
	SourceAmount        decimal.Decimal // what leaves the account, before the fee
	DestinationAmount   decimal.Decimal
	// Problem is set when no route was found; the row cannot be paid as is.
	Problem string
}

// Plan is a dry run of a sheet: what it asks for per currency, what MassPay
// would charge, and whether the account covers it. It moves no money.
type Plan struct {
	Rows     int
	ByMethod map[string]int
	// Requested is the sum leaving the account per source currency (loads and
	// payouts, before fees); Fees the estimated payout fees.
	Requested map[string]decimal.Decimal
	Fees      map[string]decimal.Decimal
	Balances  map[string]decimal.Decimal
	// Shortfall is how much more each source currency needs; empty when the
	// account covers the sheet.
	Shortfall map[string]decimal.Decimal
	Quotes    []Quote
	// NoRoute lists the payout rows MassPay offers no route for.
	NoRoute []Quote
	// NeedDetails lists the payout rows whose route requires payee details
	// (attr: columns) the row neither gives nor MassPay holds, or gives in a
	// form MassPay refuses: the run would end them NEEDS_ACTION. Problem
	// names each detail and its column.
	NeedDetails []Quote
	// DetailsUnchecked counts the payout rows whose details could not be
	// checked: their payee is not at MassPay yet and no known payee was
	// there to read the route's requirements through. The run checks them.
	DetailsUnchecked int
	// Warnings are the sheet's warnings, one per kind, for the plan
	// workbook; the caller sets them from the sheet's report.
	Warnings []sheet.WarningSummary
}

// OK reports whether the sheet can be paid in full: funds cover it, every
// payout row has a route, and no row lacks a payout detail its route needs.
func (p *Plan) OK() bool {
	return len(p.Shortfall) == 0 && len(p.NoRoute) == 0 && len(p.NeedDetails) == 0
}

// Currencies returns the plan's source currencies in order.
func (p *Plan) Currencies() []string {
	set := map[string]bool{}
	for c := range p.Requested {
		set[c] = true
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
