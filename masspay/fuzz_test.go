package masspay

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzNewAPIError feeds arbitrary bodies to the error decoder: it must not
// panic, must never let the API key through, and a KYC link it reports must
// be an https URL.
func FuzzNewAPIError(f *testing.F) {
	f.Add(403, `{"title":"Compliance hold","message":"Documents required: `+kycLinkURL+`","code":"KYC_HOLD","error":{"reason":"kyc_hold","details":["`+kycLinkURL+`"]}}`)
	f.Add(500, `{"Exception":"x","Errors":["a",{"b":1},null,2]}`)
	f.Add(429, `{"code":429,"message":"slow","details":{"k":"`+testKey+`"},"timestamp":1}`)
	f.Add(400, `[1,2,"https://x.example/`+testKey+`"]`)
	f.Add(403, `<html>https://a.example/kyc</html>`)
	f.Add(401, `"`+testKey+`"`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		e := newAPIError("POST", "/payout/usr_1", status, http.Header{"X-Request-Id": {testKey}}, []byte(body), redactor(testKey))
		all := e.Error() + string(e.Body) + e.RequestID + e.KYCUploadURL + strings.Join(e.Details, "")
		if strings.Contains(all, testKey) {
			t.Fatalf("key leaked: %q", all)
		}
		if e.KYCUploadURL != "" && !strings.HasPrefix(e.KYCUploadURL, "https://") {
			t.Fatalf("KYC link %q", e.KYCUploadURL)
		}
	})
}
