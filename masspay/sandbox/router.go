package sandbox

import (
	"net/http"
	"sort"
	"strings"
)

// methods maps HTTP methods to the handler of one path shape.
type methods map[string]handler

// lookupRoute finds the endpoint for seg (the path after /v1.0.0/payout/).
// Fixed path words are matched before anything is taken for a token, so
// /user/lookup is never a user called "lookup".
func lookupRoute(method string, seg []string) (handler, *apiError) {
	ms := match(seg)
	if ms == nil {
		return nil, notFound("no such path /%s", strings.Join(seg, "/"))
	}
	if h, ok := ms[method]; ok {
		return h, nil
	}
	allow := make([]string, 0, len(ms))
	for m := range ms {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	return nil, &apiError{Status: http.StatusMethodNotAllowed, Title: "Method Not Allowed",
		Message: method + " is not allowed here; allowed: " + strings.Join(allow, ", "), Code: "METHOD_NOT_ALLOWED",
		Allow: strings.Join(allow, ", ")}
}

// The method tables of every path shape, built once: match runs on every
// request.
var (
	pathBalance     = methods{"GET": (*Sandbox).getBalances}
	pathStatement   = methods{"GET": (*Sandbox).getStatement}
	pathUsers       = methods{"POST": (*Sandbox).createUser}
	pathLookup      = methods{"GET": (*Sandbox).lookupUser}
	pathAllHistory  = methods{"GET": (*Sandbox).allHistory}
	pathUser        = methods{"GET": (*Sandbox).getUser, "PUT": (*Sandbox).updateUser}
	pathUserHistory = methods{"GET": (*Sandbox).userHistory}
	pathLoad        = methods{"POST": (*Sandbox).createLoad, "GET": (*Sandbox).listLoads, "DELETE": (*Sandbox).deleteLoad,
		"PUT": (*Sandbox).resendLoadNotice}
	pathCountries   = methods{"GET": (*Sandbox).listCountries}
	pathCountry     = methods{"GET": routesHandler("")}
	pathService     = methods{"GET": (*Sandbox).getService}
	pathAlternative = methods{"GET": (*Sandbox).alternatives}
	pathAttribute   = methods{"GET": (*Sandbox).getAttributes, "POST": (*Sandbox).storeAttributes}
	pathAllAttrs    = methods{"GET": (*Sandbox).allAttributes}
	pathUserTax     = methods{"GET": (*Sandbox).userTax}
	pathPayouts     = methods{"POST": (*Sandbox).initiatePayout, "GET": (*Sandbox).listPayouts}
	pathPayout      = methods{"PUT": (*Sandbox).commitPayout, "GET": (*Sandbox).getPayout, "PATCH": (*Sandbox).payoutPDF}
	pathWallets     = methods{"GET": (*Sandbox).listWallets, "PUT": (*Sandbox).resendBalanceNotice}
	pathAutopay     = methods{"GET": (*Sandbox).listRules, "POST": (*Sandbox).addRule, "DELETE": (*Sandbox).deleteRule}
	pathTax         = methods{"GET": (*Sandbox).taxBalances}
	pathBest        = methods{"GET": routesHandler("best")}
	pathCheapest    = methods{"GET": routesHandler("cheapest")}

	// SDK endpoints the sandbox does not model: a JSON 501 each.
	pathSpendback  = notServed("SpendBackService (/payout/spendback/{user_token})", "GET", "POST")
	pathAgreements = notServed("CatalogService.getUserAgreement (/payout/user-agreements)", "GET", "OPTIONS")
	pathKYC        = notServed("KycService (/payout/user/{user_token}/kyc/...)", "GET", "POST")
	pathCard       = notServed("CardService (/payout/wallet/{user_token}/{wallet_token}/card)", "GET", "PUT")
	pathVelocity   = notServed("KycService.findAttributesVelocity (/payout/attribute/{user_token}/velocity)", "POST")
)

// isBestPath reports whether seg is /country/{cc}/best, the path
// Config.NoBestRoute switches off.
func isBestPath(seg []string) bool {
	return len(seg) == 3 && seg[0] == "country" && seg[1] != "" && seg[2] == "best"
}

func match(seg []string) methods {
	for _, s := range seg {
		if s == "" {
			return nil
		}
	}
	n := len(seg)
	switch seg[0] {
	case "account":
		if n == 2 && seg[1] == "balance" {
			return pathBalance
		}
		if n == 2 && seg[1] == "statement" {
			return pathStatement
		}
	case "user":
		switch {
		case n == 1:
			return pathUsers
		case n == 2 && seg[1] == "lookup":
			return pathLookup
		case n == 2 && seg[1] == "history":
			return pathAllHistory
		case n == 2:
			return pathUser
		case n == 3 && seg[2] == "history":
			return pathUserHistory
		case n == 4 && seg[2] == "kyc":
			return pathKYC
		}
	case "load":
		if n == 2 {
			return pathLoad
		}
	case "country":
		switch {
		case n == 2 && seg[1] == "list":
			return pathCountries
		case n == 2:
			return pathCountry
		case n == 3 && (seg[2] == "best" || seg[2] == "cheapest"):
			if seg[2] == "best" {
				return pathBest
			}
			return pathCheapest
		}
	case "service":
		if n == 2 {
			return pathService
		}
		if n == 3 && seg[2] == "alternatives" {
			return pathAlternative
		}
	case "attribute":
		switch {
		case n == 2:
			return pathAllAttrs
		case n == 3 && seg[2] == "velocity":
			return pathVelocity
		case n == 4:
			return pathAttribute
		}
	case "wallet":
		if n == 2 {
			return pathWallets
		}
		if n == 4 && seg[3] == "autopayout" {
			return pathAutopay
		}
		if n == 4 && seg[3] == "card" {
			return pathCard
		}
	case "tax":
		if n == 1 {
			return pathTax
		}
	case "spendback":
		if n == 2 {
			return pathSpendback
		}
	case "user-agreements":
		if n == 1 {
			return pathAgreements
		}
	default:
		if reservedWord[seg[0]] {
			// A fixed word of MassPay's (or the old double "payout"
			// prefix) is never taken for a user token.
			return nil
		}
		// /{user_token} and /{user_token}/{payout_token}: MassPay's payout
		// endpoints have no word of their own (masspay-js-sdk 2.0.0,
		// PayoutService).
		switch {
		case n == 1:
			return pathPayouts
		case n == 2 && seg[1] == "tax":
			// GET /{user_token}/tax (SDK getTaxInterviewLink): the fixed
			// word wins over a payout token, as in the first segment.
			return pathUserTax
		case n == 2:
			return pathPayout
		}
	}
	return nil
}

// reservedWord holds the first path words MassPay uses for something other
// than a user token, beyond the ones match serves. "payout" is here so the
// old /payout/payout/... paths answer 404, as MassPay does.
var reservedWord = map[string]bool{
	"payout": true, "subaccount": true,
}
