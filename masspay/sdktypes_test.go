package masspay

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// TestDecodesSDKTypes decodes answers shaped as masspay-js-sdk 2.0.0
// declares them where the SDK's JSON type differs from what the client used
// to expect: TaxYearUserResp.postal_code is a number, PayoutTxnCommitResp.errors
// a string, and the Error models' code the HTTP status as a number.
func TestDecodesSDKTypes(t *testing.T) {
	var tax []TaxYearUser
	body := `[{"user_token":"usr_1","address1":"1 Main St","city":"NYC","country":"USA","first_name":"A","last_name":"B",
		"date_of_birth":"1990-01-01","balance":100.10,"postal_code":10001},
		{"user_token":"usr_2","address1":"x","city":"London","country":"GBR","first_name":"C","last_name":"D",
		"date_of_birth":"","balance":1,"postal_code":"SW1A 1AA"}]`
	if err := json.Unmarshal([]byte(body), &tax); err != nil {
		t.Fatalf("decode TaxYearUserResp: %v", err)
	}
	if tax[0].PostalCode != "10001" || tax[1].PostalCode != "SW1A 1AA" || !tax[0].Balance.Equal(decimal.RequireFromString("100.1")) {
		t.Fatalf("tax users: %+v", tax)
	}
	// Encoding follows the SDK: a numeric postal code is a number.
	out, _ := json.Marshal(TaxYearUser{PostalCode: "10001"})
	var raw map[string]any
	json.Unmarshal(out, &raw)
	if _, ok := raw["postal_code"].(float64); !ok {
		t.Fatalf("postal_code encoded as %T in %s", raw["postal_code"], out)
	}

	var c PayoutTxnCommitResp
	if err := json.Unmarshal([]byte(`{"payout_token":"p","status":"failure","errors":"declined"}`), &c); err != nil || c.Errors.String() != "declined" {
		t.Fatalf("commit errors: %+v %v", c, err)
	}
	if b, _ := json.Marshal(c); string(b) != `{"payout_token":"p","status":"failure","errors":"declined"}` {
		t.Fatalf("commit answer encodes as %s, want errors as a string", b)
	}

	e := newAPIError("POST", "/x", http.StatusForbidden, http.Header{},
		[]byte(`{"title":"Compliance hold","message":"m","code":403,"error":{"reason":"kyc_hold","details":["https://kyc.example/up"]}}`), func(s string) string { return s })
	if e.Code != "403" || !errors.Is(e, ErrKYCHold) || e.KYCUploadURL != "https://kyc.example/up" {
		t.Fatalf("numeric code: %+v", e)
	}
	if msg := e.Error(); strings.Contains(msg, "[403]") || !strings.Contains(msg, "reason kyc_hold") {
		t.Fatalf("error text repeats the status as a code or drops the reason: %s", msg)
	}
}
