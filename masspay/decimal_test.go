package masspay

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// TestDecimalJSONRoundTrip checks that money marshals as a JSON number with
// exactly its digits and comes back equal, with no float64 anywhere.
func TestDecimalJSONRoundTrip(t *testing.T) {
	for _, tc := range []struct{ in, wire string }{
		{"0.1", "0.1"},
		{"0.2", "0.2"},
		{"12345678.90", "12345678.9"},
		{"0.00000001", "0.00000001"},
		{"0.30000000000000004", "0.30000000000000004"},
		{"99999999999999999.99", "99999999999999999.99"},
		{"-12.34", "-12.34"},
	} {
		d := decimal.RequireFromString(tc.in)
		b, err := json.Marshal(LoadTxn{ClientLoadID: "x", SourceToken: "s", Amount: d})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"amount":`+tc.wire+`,`)) && !bytes.HasSuffix(b, []byte(`"amount":`+tc.wire+`}`)) {
			t.Errorf("%s marshals as %s, want the JSON number %s", tc.in, b, tc.wire)
		}
		var back LoadTxn
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !back.Amount.Equal(d) {
			t.Errorf("%s came back as %s", tc.in, back.Amount)
		}
	}
	sum := decimal.RequireFromString("0.1").Add(decimal.RequireFromString("0.2"))
	if !sum.Equal(decimal.RequireFromString("0.3")) || sum.String() != "0.3" {
		t.Errorf("0.1 + 0.2 = %s", sum)
	}
}

// TestDecimalsThroughClient sends amounts through the client to a server
// that echoes the exact bytes it received into the answer, so both the
// request encoding and the answer decoding are on the path.
func TestDecimalsThroughClient(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		var in map[string]json.RawMessage
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil {
			jsonAnswer(w, 400, `{"message":"bad json"}`)
			return
		}
		amt := string(in["source_amount"])
		jsonAnswer(w, 200, `{"payout_token":"payout_1","source_amount":`+amt+`,"destination_amount":`+amt+`,"exchange_rate":0.0000105,"fee":0.30000000000000004,"status":"PENDING"}`)
	})
	c, _ := newTestClient(t, api.URL(), nil)
	for _, amt := range []string{"0.1", "0.3", "12345678.90", "0.00000001"} {
		resp, err := c.InitiatePayout(context.Background(), "k-"+amt, "usr_1", payoutTxn(amt))
		if err != nil {
			t.Fatal(err)
		}
		want := decimal.RequireFromString(amt)
		if !resp.SourceAmount.Equal(want) || !resp.DestinationAmount.Equal(want) {
			t.Errorf("%s came back as %s / %s", amt, resp.SourceAmount, resp.DestinationAmount)
		}
		if resp.Fee.String() != "0.30000000000000004" || resp.ExchangeRate.String() != "0.0000105" {
			t.Errorf("fee %s rate %s lost digits", resp.Fee, resp.ExchangeRate)
		}
	}
	for _, h := range api.Hits() {
		if strings.Contains(string(h.Body), "e-") || strings.Contains(string(h.Body), `"source_amount":"`) {
			t.Errorf("amount not a plain JSON number: %s", h.Body)
		}
	}
}
