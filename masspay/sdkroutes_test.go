package masspay

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// sdkRoute is one operation of MassPay's official JavaScript SDK,
// masspay-js-sdk 2.0.0 (dist/src/services/*.js), and the client method that
// performs it. Route is the SDK's url string verbatim: relative to the SDK's
// base http://HOST/v1.0.0, with the SDK's {placeholders}.
type sdkRoute struct {
	Client, SDK, Method, Route string
}

// sdkRoutes holds payrun's client to the SDK's route table: MassPay
// generates the SDK from its own API definition, so it is the authority on
// the wire (masspay-api.md).
var sdkRoutes = []sdkRoute{
	{"Balances", "AccountService.getAccountBalance", "GET", "/payout/account/balance"},
	{"Statement", "AccountService.getAccountStatement", "GET", "/payout/account/statement"},
	{"Attributes", "AttributeService.getAttrs", "GET", "/payout/attribute/{user_token}/{destination_token}/{currency}"},
	{"StoreAttributes", "AttributeService.storeAttrs", "POST", "/payout/attribute/{user_token}/{destination_token}/{currency}"},
	{"Countries", "CatalogService.getCountryList", "GET", "/payout/country/list"},
	{"CountryRoutes", "CatalogService.getCountryServices", "GET", "/payout/country/{country_code}"},
	{"CheapestRoutes", "CatalogService.getCheapestCountryServices", "GET", "/payout/country/{country_code}/cheapest"},
	{"Service", "CatalogService.getDestinationToken", "GET", "/payout/service/{destination_token}"},
	{"Load", "LoadService.loadUser", "POST", "/payout/load/{user_token}"},
	{"LoadBody", "LoadService.loadUser", "POST", "/payout/load/{user_token}"},
	{"Loads", "LoadService.getUserLoadsByToken", "GET", "/payout/load/{user_token}"},
	{"ReverseLoad", "LoadService.cancelUserLoad", "DELETE", "/payout/load/{user_token}"},
	{"InitiatePayout", "PayoutService.initiatePayout", "POST", "/payout/{user_token}"},
	{"InitiatePayoutBody", "PayoutService.initiatePayout", "POST", "/payout/{user_token}"},
	{"Payouts", "PayoutService.getUserPayoutsByToken", "GET", "/payout/{user_token}"},
	{"CommitPayout", "PayoutService.commitPayoutTxn", "PUT", "/payout/{user_token}/{payout_token}"},
	{"PayoutStatus", "PayoutService.getPayoutStatus", "GET", "/payout/{user_token}/{payout_token}"},
	{"PayoutPDF", "PayoutService.getTransactionConfirmationDetails", "PATCH", "/payout/{user_token}/{payout_token}"},
	{"TaxBalances", "TaxService.getTaxUsers", "GET", "/payout/tax"},
	{"CreateUser", "UserService.createUser", "POST", "/payout/user"},
	{"GetUser", "UserService.getUserByToken", "GET", "/payout/user/{user_token}"},
	{"UpdateUser", "UserService.updateUser", "PUT", "/payout/user/{user_token}"},
	{"LookupUser", "UserService.userLookup", "GET", "/payout/user/lookup"},
	{"UserHistory", "UserService.getUserHistory", "GET", "/payout/user/{user_token}/history"},
	{"AllUsersHistory", "UserService.getAllUsersHistory", "GET", "/payout/user/history"},
	{"Wallets", "WalletService.getWallet", "GET", "/payout/wallet/{user_token}"},
	{"AutopayRules", "WalletService.getAutopayoutRules", "GET", "/payout/wallet/{user_token}/{wallet_token}/autopayout"},
	{"AddAutopayRule", "WalletService.createAutopayoutRule", "POST", "/payout/wallet/{user_token}/{wallet_token}/autopayout"},
	{"DeleteAutopayRule", "WalletService.deleteAutopayoutRule", "DELETE", "/payout/wallet/{user_token}/{wallet_token}/autopayout"},
}

// noSDKRoute lists the exported client methods without an SDK route, each
// with the reason. A new method belongs in sdkRoutes or here.
var noSDKRoute = map[string]string{
	"BaseURL": "reads the configuration; sends nothing",
	"Rate":    "reads the client's token bucket; sends nothing",
	"BestRoutes": "GET /payout/country/{country_code}/best is what MassPay's guides use, but SDK 2.0.0 does not define it " +
		"(CatalogService has only getCountryServices and getCheapestCountryServices); PreferredRoutes falls back from it",
	"PreferredRoutes": "not one route: /best, then on 404/405 the SDK's getCheapestCountryServices and getCountryServices " +
		"routes; TestClientFallbackRoutesAreSDKRoutes holds those two to the table",
}

// sdkPlaceholders are the test tokens the SDK's placeholders stand for.
var sdkPlaceholders = map[string]string{
	"user_token": "usr_T1", "payout_token": "pay_T2", "country_code": "MEX",
	"destination_token": "dst_T3", "currency": "MXN", "wallet_token": "wlt_T4",
}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// fillRoute replaces the SDK route's placeholders with the test tokens.
func fillRoute(t *testing.T, route string) string {
	t.Helper()
	return placeholderRE.ReplaceAllStringFunc(route, func(m string) string {
		v, ok := sdkPlaceholders[m[1:len(m)-1]]
		if !ok {
			t.Fatalf("route %s: no test token for placeholder %s", route, m)
		}
		return v
	})
}

// sdkCalls performs each client method of sdkRoutes with the test tokens.
// Answers are not checked here (TestMethodsWire does that), only the request.
func sdkCalls() map[string]func(ctx context.Context, c *Client) error {
	const u, p, cc, dst, cur, w = "usr_T1", "pay_T2", "MEX", "dst_T3", "MXN", "wlt_T4"
	amt := decimal.RequireFromString("200")
	day := time.Date(2025, 1, 31, 0, 0, 0, 0, time.UTC)
	return map[string]func(ctx context.Context, c *Client) error{
		"Balances": func(ctx context.Context, c *Client) error { _, err := c.Balances(ctx); return err },
		"Statement": func(ctx context.Context, c *Client) error {
			_, err := c.Statement(ctx, day.AddDate(0, 0, -30), day)
			return err
		},
		"Attributes": func(ctx context.Context, c *Client) error { _, err := c.Attributes(ctx, u, dst, cur); return err },
		"StoreAttributes": func(ctx context.Context, c *Client) error {
			_, err := c.StoreAttributes(ctx, "k-attrs", u, dst, cur, AttrTxn{Values: []AttrValue{{Token: "attr_1", Value: "1"}}})
			return err
		},
		"Countries": func(ctx context.Context, c *Client) error { _, err := c.Countries(ctx); return err },
		"CountryRoutes": func(ctx context.Context, c *Client) error {
			_, err := c.CountryRoutes(ctx, cc, RouteParams{})
			return err
		},
		"CheapestRoutes": func(ctx context.Context, c *Client) error {
			_, err := c.CheapestRoutes(ctx, cc, RouteParams{})
			return err
		},
		"Service": func(ctx context.Context, c *Client) error { _, err := c.Service(ctx, dst); return err },
		"Load": func(ctx context.Context, c *Client) error {
			_, err := c.Load(ctx, "k-load", u, LoadTxn{ClientLoadID: "L1", SourceToken: "src_1", Amount: amt})
			return err
		},
		"LoadBody": func(ctx context.Context, c *Client) error {
			_, err := c.LoadBody(ctx, "k-load", u, json.RawMessage(`{"client_load_id":"L1","source_token":"src_1","amount":10}`))
			return err
		},
		"Loads": func(ctx context.Context, c *Client) error { _, err := c.Loads(ctx, u); return err },
		"ReverseLoad": func(ctx context.Context, c *Client) error {
			_, err := c.ReverseLoad(ctx, "k-rev", u, "load_1")
			return err
		},
		"InitiatePayout": func(ctx context.Context, c *Client) error {
			_, err := c.InitiatePayout(ctx, "k-init", u, PayoutTxn{ClientTransferID: "T1", SourceToken: "src_1",
				DestinationToken: dst, SourceAmount: &amt})
			return err
		},
		"InitiatePayoutBody": func(ctx context.Context, c *Client) error {
			_, err := c.InitiatePayoutBody(ctx, "k-init", u, json.RawMessage(`{"client_transfer_id":"T1","source_token":"src_1","destination_token":"dst_1","source_amount":10}`))
			return err
		},
		"Payouts": func(ctx context.Context, c *Client) error { _, err := c.Payouts(ctx, u); return err },
		"CommitPayout": func(ctx context.Context, c *Client) error {
			_, err := c.CommitPayout(ctx, "k-commit", u, p)
			return err
		},
		"PayoutStatus": func(ctx context.Context, c *Client) error { _, err := c.PayoutStatus(ctx, u, p, false); return err },
		"PayoutPDF":    func(ctx context.Context, c *Client) error { _, err := c.PayoutPDF(ctx, u, p); return err },
		"TaxBalances": func(ctx context.Context, c *Client) error {
			_, err := c.TaxBalances(ctx, &amt, 2025)
			return err
		},
		"CreateUser": func(ctx context.Context, c *Client) error {
			_, err := c.CreateUser(ctx, "user:u1", User{Profile: Profile{InternalUserID: "u1", Country: "USA", FirstName: "A", LastName: "B", Email: "a@b.io"}})
			return err
		},
		"GetUser": func(ctx context.Context, c *Client) error { _, err := c.GetUser(ctx, u); return err },
		"UpdateUser": func(ctx context.Context, c *Client) error {
			_, err := c.UpdateUser(ctx, "k-upd", u, UpdateUser{Profile: Profile{City: "Lima"}})
			return err
		},
		"LookupUser": func(ctx context.Context, c *Client) error {
			_, err := c.LookupUser(ctx, LookupUserParams{Email: "a@b.io", FirstName: "A"})
			return err
		},
		"UserHistory": func(ctx context.Context, c *Client) error {
			_, err := c.UserHistory(ctx, u, HistoryParams{})
			return err
		},
		"AllUsersHistory": func(ctx context.Context, c *Client) error {
			_, err := c.AllUsersHistory(ctx, HistoryParams{})
			return err
		},
		"Wallets":      func(ctx context.Context, c *Client) error { _, err := c.Wallets(ctx, u); return err },
		"AutopayRules": func(ctx context.Context, c *Client) error { _, err := c.AutopayRules(ctx, u, w); return err },
		"AddAutopayRule": func(ctx context.Context, c *Client) error {
			pct := decimal.RequireFromString("50")
			_, err := c.AddAutopayRule(ctx, "k-rule", u, w, AutopayRuleTxn{DestinationToken: dst, Percentage: pct})
			return err
		},
		"DeleteAutopayRule": func(ctx context.Context, c *Client) error {
			return c.DeleteAutopayRule(ctx, "k-del", u, w, "rule_1")
		},
	}
}

// sdkBase is the path of the SDK's base URL; the client's base adds /payout.
const sdkBase = "/v1.0.0"

// TestClientMatchesSDKRoutes sends every client method with an SDK
// counterpart to a local server and compares the method and path it sent,
// relative to the SDK's base, with the SDK's route for that operation.
func TestClientMatchesSDKRoutes(t *testing.T) {
	ctx := context.Background()
	calls := sdkCalls()
	for _, r := range sdkRoutes {
		t.Run(r.Client, func(t *testing.T) {
			call, ok := calls[r.Client]
			if !ok {
				t.Fatalf("no call for %s in sdkCalls", r.Client)
			}
			f := newFakeAPI(t, func(_ int, w http.ResponseWriter, _ *http.Request) { jsonAnswer(w, 200, `{}`) })
			c, _ := newTestClient(t, f.URL(), func(cfg *Config) { cfg.MaxRetries = -1 })
			err := call(ctx, c)
			hits := f.Hits()
			if len(hits) != 1 {
				t.Fatalf("%s sent %d requests (err %v), want 1", r.Client, len(hits), err)
			}
			got := hits[0].Method + " " + strings.TrimPrefix(hits[0].EscapedPath, sdkBase)
			want := r.Method + " " + fillRoute(t, r.Route)
			if got != want {
				t.Errorf("%s sends %s; the SDK's %s is %s %s (%s)", r.Client, got, r.SDK, r.Method, r.Route, want)
			}
		})
	}
}

// TestClientFallbackRoutesAreSDKRoutes: when /best is missing,
// PreferredRoutes' next requests are the SDK's cheapest and country routes.
func TestClientFallbackRoutesAreSDKRoutes(t *testing.T) {
	f := newFakeAPI(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/best"):
			jsonAnswer(w, 404, `{"title":"Not Found","message":"no such path","code":"NOT_FOUND"}`)
		case strings.HasSuffix(r.URL.Path, "/cheapest"):
			jsonAnswer(w, 405, `{"title":"Method Not Allowed","message":"no","code":"METHOD_NOT_ALLOWED"}`)
		default:
			jsonAnswer(w, 200, `{"companies":[]}`)
		}
	})
	c, _ := newTestClient(t, f.URL(), nil)
	if _, err := c.PreferredRoutes(context.Background(), "MEX", RouteParams{}); err != nil {
		t.Fatalf("PreferredRoutes: %v", err)
	}
	route := func(name string) string {
		for _, r := range sdkRoutes {
			if r.Client == name {
				return r.Method + " " + fillRoute(t, r.Route)
			}
		}
		t.Fatalf("%s not in sdkRoutes", name)
		return ""
	}
	var got []string
	for _, h := range f.Hits() {
		got = append(got, h.Method+" "+strings.TrimPrefix(h.EscapedPath, sdkBase))
	}
	want := []string{"GET /payout/country/MEX/best", route("CheapestRoutes"), route("CountryRoutes")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PreferredRoutes sent %v, want %v", got, want)
	}
}

// TestEveryClientMethodHasAnSDKRoute makes the route table complete: every
// exported method of *Client is in sdkRoutes or in noSDKRoute with its
// reason, and neither names a method that does not exist.
func TestEveryClientMethodHasAnSDKRoute(t *testing.T) {
	listed := map[string]int{}
	for _, r := range sdkRoutes {
		listed[r.Client]++
	}
	for name, why := range noSDKRoute {
		if strings.TrimSpace(why) == "" {
			t.Errorf("noSDKRoute[%s] gives no reason", name)
		}
		if listed[name] > 0 {
			t.Errorf("%s is both in sdkRoutes and in noSDKRoute", name)
		}
		listed[name]++
	}
	typ := reflect.TypeFor[*Client]()
	methods := map[string]bool{}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		methods[name] = true
		switch listed[name] {
		case 0:
			t.Errorf("client method %s is neither in sdkRoutes (with the SDK's route) nor in noSDKRoute (with the reason)", name)
		case 1:
		default:
			t.Errorf("client method %s is listed %d times", name, listed[name])
		}
	}
	for name := range listed {
		if !methods[name] {
			t.Errorf("%s is listed but *Client has no such method", name)
		}
	}
	calls := sdkCalls()
	for _, r := range sdkRoutes {
		if _, ok := calls[r.Client]; !ok {
			t.Errorf("sdkRoutes has %s but sdkCalls does not call it", r.Client)
		}
	}
}
