package exports

import (
	"context"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/masspay"
)

// Default1099Threshold is the US 1099 reporting threshold in USD: payees
// paid at least this much in a tax year get a form.
var Default1099Threshold = decimal.NewFromInt(600)

// TaxAPI reads the annual balances per payee. *masspay.Client satisfies it.
type TaxAPI interface {
	TaxBalances(ctx context.Context, threshold *decimal.Decimal, year int) ([]masspay.TaxYearUser, error)
}

// TaxPayee is one payee's total for the tax year.
type TaxPayee struct {
	masspay.TaxYearUser
	// AtThreshold is true when Balance reaches the threshold: the payee
	// needs a 1099 (or 1042-S) form.
	AtThreshold bool
}

// MissingTaxID reports whether MassPay holds no tax id for the payee.
func (p TaxPayee) MissingTaxID() bool { return p.TaxID == "" }

// TaxReport is the year-end figures of every payee paid in the year.
type TaxReport struct {
	Year      int
	Threshold decimal.Decimal
	// Payees are sorted by balance, largest first, then internal_user_id.
	Payees []TaxPayee
}

// AtThreshold counts the payees at or above the threshold.
func (r *TaxReport) AtThreshold() int {
	n := 0
	for _, p := range r.Payees {
		if p.AtThreshold {
			n++
		}
	}
	return n
}

// MissingTaxIDs returns the payees without a tax id, those at or above the
// threshold first (they block filing), each group by balance.
func (r *TaxReport) MissingTaxIDs() []TaxPayee {
	var out []TaxPayee
	for _, p := range r.Payees {
		if p.MissingTaxID() {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].AtThreshold && !out[j].AtThreshold })
	return out
}

// BuildTaxReport asks MassPay for every payee's total in year (GET /tax with
// no threshold, so payees below it are listed too) and marks those reaching
// threshold, as MassPay's own threshold filter does (balance >= threshold).
func BuildTaxReport(ctx context.Context, api TaxAPI, year int, threshold decimal.Decimal) (*TaxReport, error) {
	if year < 1970 || year > 9999 {
		return nil, fmt.Errorf("build tax report: year %d is not a tax year", year)
	}
	if threshold.IsNegative() {
		return nil, fmt.Errorf("build tax report: threshold %s is negative", threshold)
	}
	users, err := api.TaxBalances(ctx, nil, year)
	if err != nil {
		return nil, fmt.Errorf("read tax balances of %d: %w", year, err)
	}
	rep := &TaxReport{Year: year, Threshold: threshold}
	for _, u := range users {
		rep.Payees = append(rep.Payees, TaxPayee{TaxYearUser: u, AtThreshold: u.Balance.GreaterThanOrEqual(threshold)})
	}
	sort.SliceStable(rep.Payees, func(i, j int) bool {
		a, b := rep.Payees[i], rep.Payees[j]
		if c := a.Balance.Cmp(b.Balance); c != 0 {
			return c > 0
		}
		return a.InternalUserID < b.InternalUserID
	})
	return rep, nil
}

// taxRecord is one payee line of the tax export's sheets.
type taxRecord struct {
	InternalUserID results.Cell `csv:"internal_user_id"`
	FirstName      results.Cell `csv:"first_name"`
	LastName       results.Cell `csv:"last_name"`
	Email          results.Cell `csv:"email"`
	Country        results.Cell `csv:"country"`
	Address1       results.Cell `csv:"address1"`
	City           results.Cell `csv:"city"`
	StateProvince  results.Cell `csv:"state_province"`
	PostalCode     results.Cell `csv:"postal_code"`
	TaxID          results.Cell `csv:"tax_id"`
	BalanceUSD     results.Cell `csv:"balance_usd"`
	AtThreshold    results.Cell `csv:"at_threshold"`
	UserToken      results.Cell `csv:"user_token"`
}

// TaxColumns are the columns of the tax export's balances sheet; the
// missing-tax-id sheet has the same ones.
var TaxColumns = results.RecordHeader[taxRecord]()

// Sheet names of the tax export.
const (
	SheetTaxBalances  = "Balances"
	SheetMissingTaxID = "Missing tax id"
)

// WriteTaxReport writes the report to path for the accountant: an XLSX with
// the balances of every payee (those at or above the threshold filled amber
// and marked yes) and a second sheet listing the payees without a tax id;
// or, for a .csv path, the balances there and the second list at
// results.ExportSiblingPath(path, "missing-tax-id"). It returns the paths written.
func WriteTaxReport(path string, rep *TaxReport) ([]string, error) {
	var balances, missing []taxRecord
	var balanceFills, missingFills []results.RowFill
	for _, p := range rep.Payees {
		balances = append(balances, taxRecordOf(p))
		fill := results.FillNone
		if p.AtThreshold {
			fill = results.FillAmber
		}
		balanceFills = append(balanceFills, fill)
	}
	for _, p := range rep.MissingTaxIDs() {
		missing = append(missing, taxRecordOf(p))
		fill := results.FillNone
		if p.AtThreshold {
			fill = results.FillRed
		}
		missingFills = append(missingFills, fill)
	}
	bt := results.RecordTable(SheetTaxBalances, balances, fmt.Sprintf("MassPay reports no payee paid in %d.", rep.Year))
	bt.Fills = balanceFills
	mt := results.RecordTable(SheetMissingTaxID, missing, "Every payee has a tax id.")
	mt.Fills = missingFills
	return results.WriteTables(path, results.ExportFormatOf(path), []results.Table{bt, mt})
}

func taxRecordOf(p TaxPayee) taxRecord {
	text := results.TextCell
	return taxRecord{
		InternalUserID: text(p.InternalUserID), FirstName: text(p.FirstName), LastName: text(p.LastName), Email: text(p.Email),
		Country: text(p.Country), Address1: text(p.Address1), City: text(p.City), StateProvince: text(p.StateProvince),
		PostalCode: text(string(p.PostalCode)), TaxID: text(p.TaxID),
		BalanceUSD:  results.AmountCell(decimal.NewNullDecimal(p.Balance), "USD"),
		AtThreshold: text(yesNo(p.AtThreshold)), UserToken: text(p.UserToken),
	}
}
