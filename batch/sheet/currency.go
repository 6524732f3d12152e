package sheet

import (
	"strings"

	"golang.org/x/text/currency"
)

// Currency is an ISO 4217 currency or a crypto asset, with the number of
// decimals an amount in it may carry.
type Currency struct {
	Code     string
	Decimals int32
	Crypto   bool
}

// fiatCodes are the fiat currencies a sheet may name: ISO 4217 list one
// (2024 amendment 178 and later), every active code. Funds codes and precious
// metals are left out: nobody is paid in XAU. The list is ours, not
// golang.org/x/text's, because x/text also knows withdrawn codes (DEM, VEF)
// and test codes (XTS) that must stay refused.
var fiatCodes = []string{
	"AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN",
	"BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL",
	"BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY",
	"COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
	"ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD",
	"GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
	"IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
	"KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
	"LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
	"MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
	"NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
	"RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
	"SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
	"TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
	"USD", "UYU", "UYW", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD",
	"XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "CLF", "CUC", "SLL",
}

// isoMinorUnits overrides golang.org/x/text/currency where its numbers are
// not ISO 4217's minor units. x/text's Standard digits come from CLDR, which
// gives the digits a currency is usually *shown* with: 0 for currencies whose
// subunit fell out of use (IDR, COP, PKR...), while ISO 4217, and so MassPay,
// still count 2 (IQD 3) and accept amounts with them. A row must not be
// refused, nor a results cell rounded, for decimals ISO allows. x/text v0.40.0
// also does not know the codes introduced since its CLDR (MRU 2018, VES 2018,
// UYW 2018, SLE 2022, ZWG 2024, XCG 2025). Cash digits (CHF, SEK, CZK, HUF,
// NOK, TWD round cash to 0 or 0.05) are never used: payouts are not cash.
var isoMinorUnits = map[string]int32{
	// CLDR shows 0 digits; ISO 4217 has 2.
	"AFN": 2, "ALL": 2, "AMD": 2, "COP": 2, "GYD": 2, "IDR": 2, "IRR": 2, "KPW": 2,
	"LAK": 2, "LBP": 2, "MGA": 2, "MMK": 2, "MNT": 2, "MUR": 2, "PKR": 2, "RSD": 2,
	"SLL": 2, "SOS": 2, "SYP": 2, "TZS": 2, "UZS": 2, "YER": 2,
	// CLDR shows 0 digits; ISO 4217 has 3.
	"IQD": 3,
	// Unknown to x/text v0.40.0.
	"MRU": 2, "SLE": 2, "UYW": 4, "VES": 2, "XCG": 2, "ZWG": 2,
}

// fiatDecimals maps every code of fiatCodes to its ISO 4217 minor units,
// built once from x/text and the overrides so a lookup per cell stays a map
// read.
var fiatDecimals = buildFiatDecimals()

func buildFiatDecimals() map[string]int32 {
	m := make(map[string]int32, len(fiatCodes))
	for _, code := range fiatCodes {
		if d, ok := isoMinorUnits[code]; ok {
			m[code] = d
			continue
		}
		u, err := currency.ParseISO(code)
		if err != nil {
			// A code in fiatCodes that x/text does not know and that has no
			// override is a programming error the currency test catches; it
			// is left out rather than guessed.
			continue
		}
		scale, _ := currency.Standard.Rounding(u)
		m[code] = int32(scale)
	}
	return m
}

// cryptoDecimals are the crypto assets a sheet may name. The chain's own
// precision is larger for some (ETH has 18); 8 keeps amounts practical and
// matches what payout providers settle. USDT and USDC carry 6 as on chain.
var cryptoDecimals = map[string]int32{
	"BTC": 8, "ETH": 8, "USDT": 6, "USDC": 6, "LTC": 8, "BCH": 8, "XRP": 6, "SOL": 8,
	"DAI": 8, "DOGE": 8, "ADA": 6, "XLM": 7, "TRX": 6, "MATIC": 8, "POL": 8, "PYUSD": 6,
}

// LookupCurrency finds an ISO 4217 code or a crypto symbol, case-insensitively.
func LookupCurrency(code string) (Currency, bool) {
	code = strings.ToUpper(strings.TrimSpace(code))
	if d, ok := fiatDecimals[code]; ok {
		return Currency{Code: code, Decimals: d}, true
	}
	if d, ok := cryptoDecimals[code]; ok {
		return Currency{Code: code, Decimals: d, Crypto: true}, true
	}
	return Currency{}, false
}

// IsCrypto reports whether code names a crypto asset.
func IsCrypto(code string) bool {
	_, ok := cryptoDecimals[strings.ToUpper(strings.TrimSpace(code))]
	return ok
}

// SourceCurrencies is the short list the template offers for source_currency:
// the currencies a MassPay account is usually funded in.
var SourceCurrencies = []string{"USD", "EUR", "GBP", "CAD", "BTC", "ETH", "USDT", "USDC"}

// DestinationCurrencies is the longer list the template offers for
// destination_currency.
var DestinationCurrencies = []string{
	"USD", "EUR", "GBP", "CAD", "MXN", "BRL", "INR", "PHP", "NGN", "COP", "ARS", "CLP", "PEN",
	"GTQ", "DOP", "JPY", "CNY", "KRW", "IDR", "VND", "THB", "MYR", "PKR", "BDT", "KES", "GHS",
	"ZAR", "EGP", "MAD", "TRY", "PLN", "RON", "UAH", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK",
	"BTC", "ETH", "USDT", "USDC",
}

// DecimalsOf is the number of decimals a currency's amounts carry (2 when
// the currency is unknown). Plans and results both round with it, so it
// lives here below them.
func DecimalsOf(code string) int32 {
	if c, ok := LookupCurrency(code); ok {
		return c.Decimals
	}
	return 2
}
