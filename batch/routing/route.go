package routing

import (
	"strings"

	"github.com/payrun/payrun/masspay"
)

// Pays reports whether rt pays in currency: MassPay quotes a rate to it, or
// quotes none at all (a route in its own currency); "" asks for no currency.
func Pays(rt masspay.Route, currency string) bool {
	if currency == "" {
		return true
	}
	for _, x := range rt.ExchangeRate {
		if strings.EqualFold(x.CurrencySymbol, currency) {
			return true
		}
	}
	return len(rt.ExchangeRate) == 0
}
