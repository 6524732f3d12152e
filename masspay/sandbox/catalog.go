package sandbox

import (
	"crypto/sha256"
	"fmt"
	"regexp"

	"github.com/shopspring/decimal"
)

// currency is what the sandbox knows about one currency: units per USD (the
// catalog's rates are all quoted from USD) and minor units.
type currency struct {
	perUSD decimal.Decimal
	places int32
}

var currencies = map[string]currency{
	"USD":  {decimal.NewFromInt(1), 2},
	"EUR":  {decimal.RequireFromString("0.92"), 2},
	"GBP":  {decimal.RequireFromString("0.79"), 2},
	"MXN":  {decimal.RequireFromString("18.37"), 2},
	"BRL":  {decimal.RequireFromString("5.05"), 2},
	"INR":  {decimal.RequireFromString("83.10"), 2},
	"PHP":  {decimal.RequireFromString("56.20"), 2},
	"CAD":  {decimal.RequireFromString("1.36"), 2},
	"NGN":  {decimal.NewFromInt(1550), 2},
	"BTC":  {decimal.RequireFromString("0.0000105"), 8},
	"ETH":  {decimal.RequireFromString("0.00029"), 8},
	"USDT": {decimal.NewFromInt(1), 2},
}

// rateBetween is the exchange rate from src to dst, converting through USD.
func rateBetween(src, dst string) decimal.Decimal {
	s, d := currencies[src], currencies[dst]
	if src == "USD" {
		return d.perUSD
	}
	if src == dst {
		return decimal.NewFromInt(1)
	}
	return d.perUSD.DivRound(s.perUSD, 12)
}

// fromUSD converts a USD amount to cur, rounded to cur's minor units.
func fromUSD(usd decimal.Decimal, cur string) decimal.Decimal {
	c := currencies[cur]
	return usd.Mul(c.perUSD).Round(c.places)
}

// toUSD converts an amount in cur to USD (unrounded beyond 8 places).
func toUSD(amount decimal.Decimal, cur string) decimal.Decimal {
	return amount.DivRound(currencies[cur].perUSD, 8)
}

// attrSpec is one required attribute of a route.
type attrSpec struct {
	Type, Label, Validation, Expected string
	re                                *regexp.Regexp
}

// route is one payer in the catalog.
type route struct {
	Token, Company, Country, DeliveryType, PayerName, Currency string
	Generic                                                    bool
	FeeUSD, MinUSD, MaxUSD                                     decimal.Decimal
	Attrs                                                      []attrSpec
	Locations                                                  int
	Availability, Description                                  string
	order                                                      int
}

// attrToken is the stable token of attribute typ on route dst.
func attrToken(dst, typ string) string { return "attr_" + stableUUID(dst+"|"+typ) }

// stableUUID derives a UUID-shaped string from s, so catalog tokens are the
// same in every sandbox and every run.
func stableUUID(s string) string {
	h := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

var countryList = []struct{ Alpha2, Name, Alpha3 string }{
	{"US", "United States", "USA"},
	{"MX", "Mexico", "MEX"},
	{"BR", "Brazil", "BRA"},
	{"IN", "India", "IND"},
	{"PH", "Philippines", "PHL"},
	{"GB", "United Kingdom", "GBR"},
	{"CA", "Canada", "CAN"},
	{"NG", "Nigeria", "NGA"},
}

func attr(typ, label, validation, expected string) attrSpec {
	return attrSpec{Type: typ, Label: label, Validation: validation, Expected: expected, re: regexp.MustCompile(validation)}
}

// catalog is every route of the sandbox, in catalog order, and by token.
var catalog, routesByToken = buildCatalog()

func buildCatalog() ([]*route, map[string]*route) {
	d := decimal.RequireFromString
	type row struct {
		country, delivery, payer, company string
		generic                           bool
		cur, fee, min, max                string
		attrs                             []attrSpec
	}
	rows := []row{
		{"USA", "BANK_DEPOSIT", "Bank Deposit", "MassPay Bank Network", true, "USD", "1.50", "1", "50000", []attrSpec{
			attr("BankAccountNumber", "Bank account number", `^[0-9]{4,17}$`, "4 to 17 digits"),
			attr("BankRoutingNumber", "Routing number (ABA)", `^[0-9]{9}$`, "9 digits")}},
		{"MEX", "BANK_DEPOSIT", "Bank Deposit", "MassPay Bank Network", true, "MXN", "2.99", "1", "20000", []attrSpec{
			attr("BankAccountNumber", "CLABE", `^[0-9]{18}$`, "18 digits")}},
		{"MEX", "CASH_PICKUP", "Elektra", "Elektra", false, "MXN", "3.99", "1", "10000", nil},
		{"BRA", "BANK_DEPOSIT", "Bank Deposit", "MassPay Bank Network", true, "BRL", "3.50", "1", "20000", []attrSpec{
			attr("BankAccountNumber", "Bank account number", `^[0-9]{5,12}$`, "5 to 12 digits"),
			attr("IdentificationNumber", "CPF", `^[0-9]{11}$`, "11 digits")}},
		{"IND", "BANK_DEPOSIT", "Bank Deposit", "MassPay Bank Network", true, "INR", "2.50", "1", "20000", []attrSpec{
			attr("BankAccountNumber", "Bank account number", `^[0-9]{9,18}$`, "9 to 18 digits"),
			attr("BankCode", "IFSC code", `^[A-Z]{4}0[A-Z0-9]{6}$`, "e.g. HDFC0001234")}},
		{"PHL", "MOBILE_WALLET", "GCash", "GCash", true, "PHP", "1.99", "1", "5000", []attrSpec{
			attr("PhoneNumber", "Mobile number", `^\+?63[0-9]{10}$`, "+63 and 10 digits")}},
		{"PHL", "CASH_PICKUP", "Cebuana Lhuillier", "Cebuana Lhuillier", true, "PHP", "2.99", "1", "5000", nil},
		{"GBR", "BANK_DEPOSIT", "Bank Deposit", "MassPay Bank Network", true, "GBP", "2.00", "1", "20000", []attrSpec{
			attr("BankAccountNumber", "Bank account number", `^[0-9]{8}$`, "8 digits"),
			attr("BankCode", "Sort code", `^[0-9]{6}$`, "6 digits")}},
		{"CAN", "BANK_DEPOSIT", "Bank Deposit", "MassPay Bank Network", true, "CAD", "2.00", "1", "20000", []attrSpec{
			attr("BankAccountNumber", "Bank account number", `^[0-9]{7,12}$`, "7 to 12 digits"),
			attr("BankRoutingNumber", "Transit and institution number", `^[0-9]{8,9}$`, "8 or 9 digits")}},
		{"CAN", "BANK_DEPOSIT", "Interac", "Interac", false, "CAD", "1.00", "1", "3000", []attrSpec{
			attr("EmailAddress", "Email address", `^[^@\s]+@[^@\s]+\.[^@\s]+$`, "name@example.com")}},
		{"NGA", "BANK_DEPOSIT", "Bank Deposit", "MassPay Bank Network", true, "NGN", "3.00", "1", "10000", []attrSpec{
			attr("BankAccountNumber", "Bank account number (NUBAN)", `^[0-9]{10}$`, "10 digits"),
			attr("BankCode", "Bank code", `^[0-9]{3,6}$`, "3 to 6 digits")}},
	}
	for _, c := range countryList {
		rows = append(rows,
			row{c.Alpha3, "CRYPTOCURRENCY", "Bitcoin", "MassPay Crypto", true, "BTC", "1.00", "10", "50000", []attrSpec{
				attr("WalletAddress", "Wallet address", `^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,62}$`, "bc1...")}},
			row{c.Alpha3, "CRYPTOCURRENCY", "Ethereum", "MassPay Crypto", true, "ETH", "1.00", "10", "50000", []attrSpec{
				attr("WalletAddress", "Wallet address", `^0x[0-9a-fA-F]{40}$`, "0x and 40 hex digits")}},
			row{c.Alpha3, "CRYPTOCURRENCY", "Tether USDT", "MassPay Crypto", true, "USDT", "1.00", "10", "50000", []attrSpec{
				attr("WalletAddress", "Wallet address", `^0x[0-9a-fA-F]{40}$`, "0x and 40 hex digits")}},
		)
	}
	var list []*route
	byToken := map[string]*route{}
	for i, r := range rows {
		tok := "dst_" + stableUUID(r.country+"|"+r.delivery+"|"+r.payer)
		avail := "1-2 business days"
		locs := 0
		desc := ""
		switch r.delivery {
		case "CASH_PICKUP":
			avail, locs, desc = "Minutes", 5000, "Requires a government ID to pick up funds"
		case "MOBILE_WALLET", "CRYPTOCURRENCY":
			avail = "Minutes"
		}
		rt := &route{Token: tok, Company: r.company, Country: r.country, DeliveryType: r.delivery, PayerName: r.payer,
			Currency: r.cur, Generic: r.generic, FeeUSD: d(r.fee), MinUSD: d(r.min), MaxUSD: d(r.max), Attrs: r.attrs,
			Locations: locs, Availability: avail, Description: desc, order: i}
		list = append(list, rt)
		byToken[tok] = rt
	}
	return list, byToken
}
