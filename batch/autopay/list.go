package autopay

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/masspay"
)

// AutopayListing is one autopay rule in MassPay, with the route it sends to
// named as a sheet would name it. A payee with no rule (or unknown to
// MassPay) gets one listing with only Note set.
type AutopayListing struct {
	exports.Payee
	WalletToken    string
	WalletCurrency string
	Rule           masspay.AutopayRule
	Country        string
	DeliveryType   string
	PayerName      string
	Note           string
}

// ListAutopayRules reads the rules of every wallet of payees. The routes'
// names come from GET /service, asked once per destination.
func ListAutopayRules(ctx context.Context, api AutopayAPI, payees []exports.Payee) ([]AutopayListing, error) {
	var out []AutopayListing
	services := map[string]*masspay.Service{}
	for _, p := range payees {
		if p.UserToken == "" {
			out = append(out, AutopayListing{Payee: p, Note: "not known to MassPay"})
			continue
		}
		ws, err := api.Wallets(ctx, p.UserToken)
		if err != nil {
			return nil, fmt.Errorf("list wallets of %s: %w", p.InternalUserID, err)
		}
		n := 0
		for _, w := range ws {
			rules, err := api.AutopayRules(ctx, p.UserToken, w.Token)
			if err != nil {
				return nil, fmt.Errorf("list autopay rules of %s: %w", p.InternalUserID, err)
			}
			for _, r := range rules {
				l := AutopayListing{Payee: p, WalletToken: w.Token, WalletCurrency: w.CurrencyCode, Rule: r}
				svc, ok := services[r.DestinationToken]
				if !ok {
					svc, err = api.Service(ctx, r.DestinationToken)
					if err != nil && !errors.Is(err, masspay.ErrNotFound) {
						return nil, fmt.Errorf("look up destination %s: %w", r.DestinationToken, err)
					}
					services[r.DestinationToken] = svc
				}
				if svc != nil {
					l.Country, l.DeliveryType = svc.CountryCode, svc.DeliveryType
					for _, py := range svc.Payers {
						if py.DestinationToken == r.DestinationToken {
							l.PayerName = py.PayerName
						}
					}
				}
				out = append(out, l)
				n++
			}
		}
		if n == 0 {
			out = append(out, AutopayListing{Payee: p, Note: "no autopay rules"})
		}
	}
	return out, nil
}

// AutopayListColumns are the columns of the autopay rules export. The first
// ones are the rules sheet's, so an export can be edited and applied back.
var AutopayListColumns = []string{
	sheet.ColInternalUserID, ColWalletCurrency, ColPercentage, sheet.ColDestinationToken, sheet.ColCountry, sheet.ColDeliveryType, sheet.ColPayerName,
	ColAction, "user_token", "wallet_token", "rule_token", "attr_set_token", "note",
}

// WriteAutopayRules writes listings to path (CSV for .csv, XLSX otherwise),
// atomically, and returns the paths written.
func WriteAutopayRules(path string, listings []AutopayListing) ([]string, error) {
	t := results.Table{Name: "Autopay rules", Header: AutopayListColumns, Empty: "No payees to list."}
	for _, l := range listings {
		pct := results.Cell{}
		if l.Rule.Token != "" {
			pct = results.RateCell(decimal.NewNullDecimal(l.Rule.Percentage))
		}
		t.Rows = append(t.Rows, []results.Cell{
			results.TextCell(l.InternalUserID), results.TextCell(l.WalletCurrency), pct, results.TextCell(l.Rule.DestinationToken),
			results.TextCell(l.Country), results.TextCell(l.DeliveryType), results.TextCell(l.PayerName), results.Cell{},
			results.TextCell(l.UserToken), results.TextCell(l.WalletToken), results.TextCell(l.Rule.Token), results.TextCell(l.Rule.AttrSetToken), results.TextCell(strings.TrimSpace(l.Note)),
		})
	}
	return results.WriteTables(path, results.ExportFormatOf(path), []results.Table{t})
}
