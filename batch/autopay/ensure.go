package autopay

import (
	"context"
	"fmt"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

// EnsureAutopayRule gives the payee of a loaded payout-sheet row the autopay
// rule its autopay_percentage column asks for, so a first-month load sets up
// the monthly forwarding in the same run. The runner calls it after the row
// reached LOADED, with the row's user_token and the wallet_token the load
// answered; an empty walletToken is looked up by the row's source currency.
//
// The rule's route comes from the row's destination_token, or its country,
// delivery_type, payer_name and destination_currency, like a payout row's;
// its payee details from the row's attr: columns. It is idempotent: when the
// wallet already has a rule to that route with that percentage it does
// nothing at all. It records the intent and outcome as EventAutopay events
// under the row's client_transfer_id, and uses the Idempotency-Keys
// "<client_transfer_id>#autopay" (and "#autopay-attrs" for the details), so a
// run cut off mid-call and resumed cannot add the rule twice.
//
// A row without autopay_percentage is a no-op. Errors matching
// ErrAutopayPercentage, ErrAutopayTotal, ErrAutopayRuleDiffers,
// ErrAutopayNoRoute, ErrAutopayDetails and ErrAutopayNoWallet need a person
// (their text says what to do); others are API or ledger failures.
func EnsureAutopayRule(ctx context.Context, api AutopayAPI, l *ledger.Ledger, userToken string, row sheet.Row, walletToken string) error {
	if row.AutopayPercentage == nil {
		return nil
	}
	pct := *row.AutopayPercentage
	if msg := percentProblem(pct, false); msg != "" {
		return fmt.Errorf("%w: %s", ErrAutopayPercentage, msg)
	}
	cur := row.SourceCurrency
	if cur == "" {
		cur = "USD"
	}
	walletCurrency := cur
	if walletToken == "" {
		w, err := walletIn(ctx, api, userToken, cur)
		if err != nil {
			return err
		}
		walletToken, walletCurrency = w.Token, w.CurrencyCode
	}
	rt, err := resolveAutopayRoute(ctx, api, userToken, walletCurrency, AutopayRoute{
		DestinationToken: row.DestinationToken, Country: row.Country, DeliveryType: row.DeliveryType,
		PayerName: row.PayerName, DestinationCurrency: row.DestinationCurrency, Attrs: row.Attrs,
	})
	if err != nil {
		return err
	}
	rules, err := api.AutopayRules(ctx, userToken, walletToken)
	if err != nil {
		return fmt.Errorf("list autopay rules: %w", err)
	}
	total := pct
	for _, r := range rules {
		if r.DestinationToken == rt.DestinationToken {
			if r.Percentage.Equal(pct) {
				return nil
			}
			return fmt.Errorf("%w: the payee's %s wallet sends %s%% to %s (rule %s), the sheet says %s%%; change it with payrun autopay apply",
				ErrAutopayRuleDiffers, walletCurrency, r.Percentage, rt.describe(), r.Token, pct)
		}
		total = total.Add(r.Percentage)
	}
	if total.GreaterThan(hundred) {
		return fmt.Errorf("%w: with %s%% to %s the payee's %s wallet would send %s%% of every load; lower autopay_percentage or remove a rule with payrun autopay apply",
			ErrAutopayTotal, pct, rt.describe(), walletCurrency, total)
	}
	values, stored, err := autopayDetails(ctx, api, userToken, rt, row.Attrs)
	if err != nil {
		return err
	}
	c := AutopayChange{Kind: AutopayAdd, Line: row.Line, InternalUserID: row.InternalUserID, UserToken: userToken, WalletToken: walletToken,
		WalletCurrency: walletCurrency, DestinationToken: rt.DestinationToken, Route: rt.describe(), Percentage: pct,
		route: rt, values: values, storedSet: stored}
	_, err = addRule(ctx, api, l, row.ClientTransferID, row.ClientTransferID+"#autopay-attrs", row.ClientTransferID+"#autopay", c)
	return err
}
