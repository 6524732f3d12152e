package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/shopspring/decimal"
)

// benchClient is a plain net/http client of a sandbox for benchmarks.
type benchClient struct {
	b    *testing.B
	base string
	hc   *http.Client
}

func (c *benchClient) do(method, path, idem string, body []byte, out any) {
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.b.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.b.Fatalf("%s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.b.Fatal(err)
		}
	}
}

// BenchmarkLoopbackMix measures requests per second over real HTTP on
// loopback for the request mix of a payout run with cached users: each
// iteration is a user lookup, a wallet load, a payout initiate and its
// commit (4 requests, every POST/PUT with its own Idempotency-Key), from 8
// concurrent clients. Requests per second = 4e9 / (ns/op).
func BenchmarkLoopbackMix(b *testing.B) {
	benchMix(b, Config{APIKey: "k", Balances: map[string]decimal.Decimal{"USD": decimal.New(1, 12)}})
}

func benchMix(b *testing.B, cfg Config) {
	srv, err := Start(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		b.StopTimer() // shutting the server down is not part of the figure
		srv.Close()
	}()
	c := &benchClient{b: b, base: srv.URL(), hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	var bals []struct {
		Token        string `json:"token"`
		CurrencyCode string `json:"currency_code"`
	}
	c.do("GET", "/account/balance", "", nil, &bals)
	usd := bals[0].Token
	var u struct {
		UserToken string `json:"user_token"`
	}
	c.do("POST", "/user", "", []byte(`{"internal_user_id":"bench-1","country":"USA","first_name":"Ben","last_name":"Ch","email":"ben@example.com"}`), &u)
	dst := routesByCountry("USA")
	var reqs []struct {
		Token string `json:"token"`
		Type  string `json:"type"`
	}
	c.do("GET", "/attribute/"+u.UserToken+"/"+dst+"/USD", "", nil, &reqs)
	vals := `{"values":[`
	for i, r := range reqs {
		v := "123456789"
		if r.Type == "BankAccountNumber" {
			v = "000123456789"
		}
		if i > 0 {
			vals += ","
		}
		vals += `{"token":"` + r.Token + `","value":"` + v + `"}`
	}
	c.do("POST", "/attribute/"+u.UserToken+"/"+dst+"/USD", "", []byte(vals+`]}`), nil)
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("b-%d", n.Add(1))
			c.do("GET", "/user/lookup?internal_user_id=bench-1", "", nil, nil)
			c.do("POST", "/load/"+u.UserToken, "l-"+id,
				[]byte(`{"client_load_id":"`+id+`","source_token":"`+usd+`","amount":1}`), nil)
			var p struct {
				PayoutToken string `json:"payout_token"`
			}
			c.do("POST", "/"+u.UserToken, "i-"+id, []byte(`{"client_transfer_id":"`+id+`","destination_currency_code":"USD","source_token":"`+
				usd+`","destination_token":"`+dst+`","source_amount":10}`), &p)
			var cr struct {
				Status string `json:"status"`
			}
			c.do("PUT", "/"+u.UserToken+"/"+p.PayoutToken, "c-"+id, nil, &cr)
			if cr.Status != "success" {
				b.Fatalf("commit: %s", cr.Status)
			}
		}
	})
}

// BenchmarkLoopbackMixStateFile is BenchmarkLoopbackMix with a state file:
// every answer waits for its group-committed snapshot. The snapshot grows
// with the run, so compare runs of the same -benchtime=Nx (a 200-row demo
// is about -benchtime=200x).
func BenchmarkLoopbackMixStateFile(b *testing.B) {
	benchMix(b, Config{APIKey: "k", Balances: map[string]decimal.Decimal{"USD": decimal.New(1, 12)},
		StateFile: filepath.Join(b.TempDir(), "state.json")})
}

// routesByCountry returns the token of a country's generic bank route.
func routesByCountry(country string) string {
	for _, r := range routesByToken {
		if r.Country == country && r.PayerName == "Bank Deposit" {
			return r.Token
		}
	}
	return ""
}
