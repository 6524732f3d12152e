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
			return methods{"GET": (*Sandbox).getBalances}
		}
		if n == 2 && seg[1] == "statement" {
			return methods{"GET": (*Sandbox).getStatement}
		}
	case "user":
		switch {
		case n == 1:
			return methods{"POST": (*Sandbox).createUser}
		case n == 2 && seg[1] == "lookup":
			return methods{"GET": (*Sandbox).lookupUser}
		case n == 2 && seg[1] == "history":
			return methods{"GET": (*Sandbox).allHistory}
		case n == 2:
			return methods{"GET": (*Sandbox).getUser, "PUT": (*Sandbox).updateUser}
		case n == 3 && seg[2] == "history":
			return methods{"GET": (*Sandbox).userHistory}
		}
	case "load":
		if n == 2 {
			return methods{"POST": (*Sandbox).createLoad, "GET": (*Sandbox).listLoads, "DELETE": (*Sandbox).deleteLoad}
		}
	case "country":
		switch {
		case n == 2 && seg[1] == "list":
			return methods{"GET": (*Sandbox).listCountries}
		case n == 2:
			return methods{"GET": routesHandler("")}
		case n == 3 && (seg[2] == "best" || seg[2] == "cheapest"):
			return methods{"GET": routesHandler(seg[2])}
		}
	case "service":
		if n == 2 {
			return methods{"GET": (*Sandbox).getService}
		}
	case "attribute":
		if n == 4 {
			return methods{"GET": (*Sandbox).getAttributes, "POST": (*Sandbox).storeAttributes}
		}
	case "payout":
		switch n {
		case 2:
			return methods{"POST": (*Sandbox).initiatePayout, "GET": (*Sandbox).listPayouts}
		case 3:
			return methods{"PUT": (*Sandbox).commitPayout, "GET": (*Sandbox).getPayout, "PATCH": (*Sandbox).payoutPDF}
		}
	case "wallet":
		if n == 2 {
			return methods{"GET": (*Sandbox).listWallets}
		}
		if n == 4 && seg[3] == "autopayout" {
			return methods{"GET": (*Sandbox).listRules, "POST": (*Sandbox).addRule, "DELETE": (*Sandbox).deleteRule}
		}
	case "tax":
		if n == 1 {
			return methods{"GET": (*Sandbox).taxBalances}
		}
	}
	return nil
}
