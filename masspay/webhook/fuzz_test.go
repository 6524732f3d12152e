package webhook_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/webhook"
)

// FuzzHandler sends arbitrary bodies and signature headers: the receiver
// never panics, answers only with the statuses it documents, and passes an
// event to the ledger only when its signature verifies.
func FuzzHandler(f *testing.F) {
	secret := []byte("fuzz-secret")
	now := time.Unix(1_800_000_000, 0)
	good := []byte(`{"event_type":"payout","status":"COMPLETED","client_transfer_id":"r-1","payout_token":"payout_1","source_amount":10.5}`)
	f.Add(good, masspay.SignPayload(secret, now, good))
	f.Add(good, "t=1800000000,s=00")
	f.Add([]byte(`{"event_type":`), masspay.SignPayload(secret, now, []byte(`{"event_type":`)))
	f.Add([]byte(`{}`), "")
	f.Add([]byte(`[1,2,3]`), "t=,s=")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		called := false
		h := webhook.New(secret, func(ctx context.Context, ev masspay.WebhookEvent, received time.Time) error {
			called = true
			return nil
		})
		h.Now = func() time.Time { return now }
		h.MaxBodyBytes = 4096
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set(masspay.SignatureHeader, sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		_, verr := masspay.VerifySignature(secret, sig, body, now, webhook.DefaultTolerance)
		if called && verr != nil {
			t.Fatalf("callback ran for a delivery whose signature does not verify: %v", verr)
		}
		if rec.Code == http.StatusOK && !called {
			t.Fatalf("200 without the ledger callback")
		}
	})
}
