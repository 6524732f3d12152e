package autopay

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/batch/results"
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

// autopayListRecord is one rule (or payee without rules) of the autopay
// rules export. The first columns are the rules sheet's, so an export can be
// edited and applied back; TestAutopayListColumns checks they still are.
type autopayListRecord struct {
	InternalUserID   results.Cell `csv:"internal_user_id"`
	WalletCurrency   results.Cell `csv:"wallet_currency"`
	Percentage       results.Cell `csv:"percentage"`
	DestinationToken results.Cell `csv:"destination_token"`
	Country          results.Cell `csv:"country"`
	DeliveryType     results.Cell `csv:"delivery_type"`
	PayerName        results.Cell `csv:"payer_name"`
	Action           results.Cell `csv:"action"`
	UserToken        results.Cell `csv:"user_token"`
	WalletToken      results.Cell `csv:"wallet_token"`
	RuleToken        results.Cell `csv:"rule_token"`
	AttrSetToken     results.Cell `csv:"attr_set_token"`
	Note             results.Cell `csv:"note"`
}

// AutopayListColumns are the columns of the autopay rules export.
var AutopayListColumns = results.RecordHeader[autopayListRecord]()

// WriteAutopayRules writes listings to path (CSV for .csv, XLSX otherwise),
// atomically, and returns the paths written.
func WriteAutopayRules(path string, listings []AutopayListing) ([]string, error) {
	text := results.TextCell
	recs := make([]autopayListRecord, 0, len(listings))
	for _, l := range listings {
		rec := autopayListRecord{
			InternalUserID: text(l.InternalUserID), WalletCurrency: text(l.WalletCurrency), DestinationToken: text(l.Rule.DestinationToken),
			Country: text(l.Country), DeliveryType: text(l.DeliveryType), PayerName: text(l.PayerName),
			UserToken: text(l.UserToken), WalletToken: text(l.WalletToken), RuleToken: text(l.Rule.Token),
			AttrSetToken: text(l.Rule.AttrSetToken), Note: text(strings.TrimSpace(l.Note)),
		}
		if l.Rule.Token != "" {
			rec.Percentage = results.RateCell(decimal.NewNullDecimal(l.Rule.Percentage))
		}
		recs = append(recs, rec)
	}
	t := results.RecordTable("Autopay rules", recs, "No payees to list.")
	return results.WriteTables(path, results.ExportFormatOf(path), []results.Table{t})
}
