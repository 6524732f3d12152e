package sandbox

import (
	"strings"
	"testing"

	"github.com/payrun/payrun/masspay"
)

// TestSDKOnlyEndpoints covers the endpoints of masspay-js-sdk 2.0.0 that
// payrun does not call itself: the tax interview link, route alternatives,
// all stored attributes and the two resend-notification PUTs.
func TestSDKOnlyEndpoints(t *testing.T) {
	h := start(t, nil)
	u, dst := h.payee("sdk-only@example.com")

	var tax taxInterview
	h.call(200, "GET", "/"+u+"/tax?return_url=https://example.com/back", nil, &tax)
	if !strings.HasPrefix(tax.InterviewURL, "https://") || tax.TaxYearUser.UserToken != u {
		t.Fatalf("tax interview: %+v", tax)
	}
	h.call(404, "GET", "/usr_nope/tax", nil, nil)

	var alt masspay.Service
	h.call(200, "GET", "/service/"+dst+"/alternatives", nil, &alt)
	if alt.CountryCode != "USA" || alt.Payers == nil {
		t.Fatalf("alternatives: %+v", alt)
	}
	for _, p := range alt.Payers {
		if p.DestinationToken == dst {
			t.Fatalf("alternatives list the route itself: %+v", alt)
		}
	}
	h.call(404, "GET", "/service/dst_nope/alternatives", nil, nil)

	var all []allAttributes
	h.call(200, "GET", "/attribute/"+u, nil, &all)
	if len(all) != 1 || all[0].DestinationToken != dst || len(all[0].Attributes) == 0 || all[0].Attributes[0].Value == "" {
		t.Fatalf("all attributes: %+v", all)
	}

	var ld masspay.LoadTxnResp
	h.call(200, "POST", "/load/"+u, masspay.LoadTxn{ClientLoadID: "sdk-1", SourceToken: h.sourceToken("USD"), Amount: dec("10")}, &ld)
	var ok resent
	h.call(200, "PUT", "/load/"+u+"?load_token="+ld.LoadToken, nil, &ok)
	if !ok.Success {
		t.Fatalf("resend load notification: %+v", ok)
	}
	h.call(400, "PUT", "/load/"+u, nil, nil)
	h.call(404, "PUT", "/load/"+u+"?load_token=ld_nope", nil, nil)
	ok = resent{}
	h.call(200, "PUT", "/wallet/"+u+"?wallet_token="+ld.WalletToken, nil, &ok)
	if !ok.Success {
		t.Fatalf("resend balance notification: %+v", ok)
	}
	h.call(404, "PUT", "/wallet/"+u+"?wallet_token=wlt_nope", nil, nil)
}

// TestSDKEndpointsNotServedAnswerJSON: what the SDK defines and the sandbox
// does not model answers a JSON 501 in MassPay's error shape (code a
// number, as in the SDK's Error models), not a 404 or 405 that reads as a
// wrong path.
func TestSDKEndpointsNotServedAnswerJSON(t *testing.T) {
	h := start(t, nil)
	u := h.createUser("not-served@example.com", nil).UserToken
	for _, c := range []struct{ method, path string }{
		{"GET", "/spendback/" + u}, {"POST", "/spendback/" + u}, {"GET", "/user-agreements"}, {"OPTIONS", "/user-agreements"},
		{"GET", "/user/" + u + "/kyc/id"}, {"POST", "/user/" + u + "/kyc/id"}, {"GET", "/user/" + u + "/kyc/veriff"},
		{"GET", "/wallet/" + u + "/wlt_x/card"}, {"PUT", "/wallet/" + u + "/wlt_x/card"}, {"POST", "/attribute/" + u + "/velocity"},
	} {
		resp, b, err := h.raw(c.method, c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		e := errBody(t, b)
		if resp.StatusCode != 501 || e.Code != 501 || e.Message == "" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s, want a JSON 501", c.method, c.path, resp.StatusCode, b)
		}
	}
}
