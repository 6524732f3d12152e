package masspay

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestMethodsWire pins every method's HTTP method, path, query, key and body
// to the contract in masspay-api.md.
func TestMethodsWire(t *testing.T) {
	ctx := context.Background()
	thr := decimal.RequireFromString("600")
	amt := decimal.RequireFromString("200")
	pct := decimal.RequireFromString("12.5")
	pdf := []byte("%PDF-1.4 confirmation")
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }

	for _, tc := range []struct {
		name   string
		answer string
		call   func(c *Client) error
		method string
		path   string
		query  url.Values
		key    string
		body   string
	}{
		{"Balances", `[]`, func(c *Client) error { _, err := c.Balances(ctx); return err },
			"GET", "/account/balance", nil, "", ""},
		{"Statement", `{"content":"JVBERi0xLjQ="}`, func(c *Client) error { _, err := c.Statement(ctx, day("2025-01-01"), day("2025-01-31")); return err },
			"GET", "/account/statement", url.Values{"start_date": {"2025-01-01"}, "ending_date": {"2025-01-31"}}, "", ""},
		{"LookupUser", `{"user_token":"usr_1"}`, func(c *Client) error {
			_, err := c.LookupUser(ctx, LookupUserParams{Email: "a+b@x.io", FirstName: "Ana"})
			return err
		}, "GET", "/user/lookup", url.Values{"email": {"a+b@x.io"}, "first_name": {"Ana"}}, "", ""},
		{"CreateUser", `{}`, func(c *Client) error {
			_, err := c.CreateUser(ctx, "user:u1", User{Profile: Profile{InternalUserID: "u1", Country: "USA", FirstName: "A", LastName: "B", Email: "a@b.io"}})
			return err
		}, "POST", "/user", nil, "user:u1", `{"internal_user_id":"u1","country":"USA","first_name":"A","last_name":"B","email":"a@b.io"}`},
		{"GetUser", `{}`, func(c *Client) error { _, err := c.GetUser(ctx, "usr_1"); return err },
			"GET", "/user/usr_1", nil, "", ""},
		{"UpdateUser", `{}`, func(c *Client) error {
			_, err := c.UpdateUser(ctx, "upd-1", "usr_1", UpdateUser{Profile: Profile{City: "Lima"}})
			return err
		},
			"PUT", "/user/usr_1", nil, "upd-1", `{"city":"Lima"}`},
		{"UserHistory", `[]`, func(c *Client) error {
			_, err := c.UserHistory(ctx, "usr_1", HistoryParams{Type: "payout", Page: 2, NumberOfRecords: 50})
			return err
		}, "GET", "/user/usr_1/history", url.Values{"type": {"payout"}, "page": {"2"}, "number_of_records": {"50"}}, "", ""},
		{"AllUsersHistory", `[]`, func(c *Client) error {
			_, err := c.AllUsersHistory(ctx, HistoryParams{StartDate: "2025-01-01", EndDate: "2025-01-31"})
			return err
		}, "GET", "/user/history", url.Values{"start_date": {"2025-01-01"}, "end_date": {"2025-01-31"}}, "", ""},
		{"Load", `{"load_token":"ld_1","status":"COMPLETED","wallet_token":"usr_wlt_1"}`, func(c *Client) error {
			_, err := c.Load(ctx, "row-1", "usr_1", LoadTxn{ClientLoadID: "row-1", SourceToken: "clnt_wlt_1", Amount: amt})
			return err
		}, "POST", "/load/usr_1", nil, "row-1", `{"client_load_id":"row-1","source_token":"clnt_wlt_1","amount":200}`},
		// Pre-encoded bodies go out byte for byte: spacing, key order and
		// a "<" that json.Marshal would escape as \u003c all stay.
		{"LoadBody", `{"load_token":"load_1","status":"COMPLETED"}`, func(c *Client) error {
			_, err := c.LoadBody(ctx, "row-1", "usr_1", []byte(`{"notes":"a<b", "client_load_id":"row-1","amount":200.10}`))
			return err
		}, "POST", "/load/usr_1", nil, "row-1", `{"notes":"a<b", "client_load_id":"row-1","amount":200.10}`},
		{"InitiatePayoutBody", `{"payout_token":"payout_1"}`, func(c *Client) error {
			_, err := c.InitiatePayoutBody(ctx, "row-1", "usr_1", []byte(`{"source_amount":200.10, "client_transfer_id":"row-1","metadata":{"r":"a<b"}}`))
			return err
		}, "POST", "/usr_1", nil, "row-1", `{"source_amount":200.10, "client_transfer_id":"row-1","metadata":{"r":"a<b"}}`},
		{"Loads", `[]`, func(c *Client) error { _, err := c.Loads(ctx, "usr_1"); return err },
			"GET", "/load/usr_1", nil, "", ""},
		{"ReverseLoad", ``, func(c *Client) error { _, err := c.ReverseLoad(ctx, "rev-1", "usr_1", "ld_1"); return err },
			"DELETE", "/load/usr_1", url.Values{"load_token": {"ld_1"}}, "rev-1", ""},
		{"BestRoutes", `{"companies":[]}`, func(c *Client) error {
			_, err := c.BestRoutes(ctx, "MEX", RouteParams{Amount: &amt, SourceCurrency: "USD", PayerNames: []string{"Bank Deposit", "Elektra"}, OnlyGenericPayers: true, Limit: 3})
			return err
		}, "GET", "/country/MEX/best", url.Values{"amount": {"200"}, "source_currency": {"USD"}, "payer_name": {"Bank Deposit|Elektra"}, "only_generic_payers": {"true"}, "limit": {"3"}}, "", ""},
		{"CheapestRoutes", `{"companies":[]}`, func(c *Client) error {
			_, err := c.CheapestRoutes(ctx, "PHL", RouteParams{DestinationCurrency: "PHP", UserToken: "usr_1", WalletToken: "usr_wlt_1"})
			return err
		}, "GET", "/country/PHL/cheapest", url.Values{"destination_currency": {"PHP"}, "user_token": {"usr_1"}, "wallet_token": {"usr_wlt_1"}}, "", ""},
		{"CountryRoutes", `{"companies":[]}`, func(c *Client) error { _, err := c.CountryRoutes(ctx, "USA", RouteParams{}); return err },
			"GET", "/country/USA", nil, "", ""},
		{"Countries", `[]`, func(c *Client) error { _, err := c.Countries(ctx); return err },
			"GET", "/country/list", nil, "", ""},
		{"Service", `{"country_code":"MEX","delivery_type":"CASH_PICKUP","payers":[]}`, func(c *Client) error { _, err := c.Service(ctx, "dst_1"); return err },
			"GET", "/service/dst_1", nil, "", ""},
		{"Attributes", `[]`, func(c *Client) error { _, err := c.Attributes(ctx, "usr_1", "dst_1", "MXN"); return err },
			"GET", "/attribute/usr_1/dst_1/MXN", nil, "", ""},
		{"StoreAttributes", `{"attr_set_token":"attr_set_1"}`, func(c *Client) error {
			_, err := c.StoreAttributes(ctx, "attr-1", "usr_1", "dst_1", "MXN", AttrTxn{Values: []AttrValue{{Token: "attr_1", Value: "012345678901234567"}}})
			return err
		}, "POST", "/attribute/usr_1/dst_1/MXN", nil, "attr-1", `{"values":[{"token":"attr_1","value":"012345678901234567"}]}`},
		{"InitiatePayout", `{"payout_token":"payout_1"}`, func(c *Client) error {
			_, err := c.InitiatePayout(ctx, "row-1", "usr_1", PayoutTxn{ClientTransferID: "row-1", DestinationCurrencyCode: "MXN", SourceToken: "clnt_wlt_1", DestinationToken: "dst_1", SourceAmount: &amt})
			return err
		}, "POST", "/usr_1", nil, "row-1", `{"client_transfer_id":"row-1","destination_currency_code":"MXN","source_token":"clnt_wlt_1","destination_token":"dst_1","source_amount":200}`},
		{"CommitPayout", `{"payout_token":"payout_1","status":"success"}`, func(c *Client) error {
			_, err := c.CommitPayout(ctx, "row-1#commit", "usr_1", "payout_1")
			return err
		}, "PUT", "/usr_1/payout_1", nil, "row-1#commit", ""},
		{"PayoutStatus", `{}`, func(c *Client) error { _, err := c.PayoutStatus(ctx, "usr_1", "payout_1", true); return err },
			"GET", "/usr_1/payout_1", url.Values{"force_status_update": {"true"}}, "", ""},
		{"Payouts", `[]`, func(c *Client) error { _, err := c.Payouts(ctx, "usr_1"); return err },
			"GET", "/usr_1", nil, "", ""},
		{"PayoutPDF", `{"content":"` + base64.StdEncoding.EncodeToString(pdf) + `"}`, func(c *Client) error {
			got, err := c.PayoutPDF(ctx, "usr_1", "payout_1")
			if err == nil && string(got) != string(pdf) {
				t.Errorf("PDF = %q", got)
			}
			return err
		}, "PATCH", "/usr_1/payout_1", nil, "", ""},
		{"Wallets", `[]`, func(c *Client) error { _, err := c.Wallets(ctx, "usr_1"); return err },
			"GET", "/wallet/usr_1", nil, "", ""},
		{"AutopayRules", `[]`, func(c *Client) error { _, err := c.AutopayRules(ctx, "usr_1", "usr_wlt_1"); return err },
			"GET", "/wallet/usr_1/usr_wlt_1/autopayout", nil, "", ""},
		{"AddAutopayRule", `{"token":"apr_1"}`, func(c *Client) error {
			_, err := c.AddAutopayRule(ctx, "apr-key", "usr_1", "usr_wlt_1", AutopayRuleTxn{DestinationToken: "dst_1", Percentage: pct})
			return err
		}, "POST", "/wallet/usr_1/usr_wlt_1/autopayout", nil, "apr-key", `{"destination_token":"dst_1","percentage":12.5}`},
		{"DeleteAutopayRule", ``, func(c *Client) error { return c.DeleteAutopayRule(ctx, "", "usr_1", "usr_wlt_1", "apr_1") },
			"DELETE", "/wallet/usr_1/usr_wlt_1/autopayout", url.Values{"token": {"apr_1"}}, "", ""},
		{"TaxBalances", `[]`, func(c *Client) error { _, err := c.TaxBalances(ctx, &thr, 2024); return err },
			"GET", "/tax", url.Values{"amount_threshold": {"600"}, "tax_year": {"2024"}}, "", ""},
		{"escaped token", `{}`, func(c *Client) error { _, err := c.GetUser(ctx, "usr/../x"); return err },
			"GET", "/user/usr%2F..%2Fx", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if tc.answer == "" {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				jsonAnswer(w, 200, tc.answer)
			})
			c, _ := newTestClient(t, api.URL(), nil)
			if err := tc.call(c); err != nil {
				t.Fatalf("call: %v", err)
			}
			hits := api.Hits()
			if len(hits) != 1 {
				t.Fatalf("requests = %d", len(hits))
			}
			h := hits[0]
			q, _ := url.ParseQuery(h.RawQuery)
			if h.Method != tc.method || h.EscapedPath != "/v1.0.0/payout"+tc.path {
				t.Errorf("request = %s %s, want %s %s", h.Method, h.EscapedPath, tc.method, tc.path)
			}
			if len(q) != len(tc.query) {
				t.Errorf("query = %v, want %v", q, tc.query)
			}
			for k, v := range tc.query {
				if q.Get(k) != v[0] {
					t.Errorf("query %s = %q, want %q", k, q.Get(k), v[0])
				}
			}
			if h.Key != tc.key {
				t.Errorf("Idempotency-Key = %q, want %q", h.Key, tc.key)
			}
			if string(h.Body) != tc.body {
				t.Errorf("body = %s, want %s", h.Body, tc.body)
			}
		})
	}
}
