package masspay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

const kycLinkURL = "https://sandbox.masspay.example/kyc/upload/3f1c2d4e-0000-4000-8000-000000000001"

// TestErrorShapes decodes every error shape of the contract, plus the odd
// ones a gateway in front of MassPay produces.
func TestErrorShapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		want    APIError
		is      []error
		isNot   []error
		kycLink string
	}{
		{
			name: "title message code", status: 404,
			body: `{"title":"Not Found","message":"User not found","code":"404"}`,
			want: APIError{Title: "Not Found", Message: "User not found", Code: "404"},
			is:   []error{ErrNotFound}, isNot: []error{ErrKYCHold, ErrUnauthorized},
		},
		{
			name: "400 with error reason and details", status: 400,
			body: `{"title":"Bad Request","message":"Validation failed","code":"VALIDATION","error":{"reason":"invalid_field","details":["email is required","country must be alpha-3"]}}`,
			want: APIError{Title: "Bad Request", Message: "Validation failed", Code: "VALIDATION", Reason: "invalid_field",
				Details: []string{"email is required", "country must be alpha-3"}},
			isNot: []error{ErrNotFound, ErrKYCHold},
		},
		{
			name: "load refused", status: 400,
			body: `{"title":"Load refused","message":"The load was refused","code":"LOAD_REFUSED","error":{"reason":"load_refused","details":[]}}`,
			want: APIError{Title: "Load refused", Message: "The load was refused", Code: "LOAD_REFUSED", Reason: "load_refused", Details: []string{}},
		},
		{
			name: "Exception and Errors", status: 500,
			body: `{"Exception":"NullReferenceException","Errors":["Object reference not set","at Payout.Commit"]}`,
			want: APIError{Message: "NullReferenceException", Details: []string{"Object reference not set", "at Payout.Commit"}},
		},
		{
			name: "Errors as objects", status: 400,
			body: `{"Exception":"ValidationException","Errors":[{"field":"amount","message":"too small"}]}`,
			want: APIError{Message: "ValidationException", Details: []string{`{"field":"amount","message":"too small"}`}},
		},
		{
			name: "429 code message details timestamp", status: 429,
			header: map[string]string{"X-Request-Id": "req_42"},
			body:   `{"code":429,"message":"Too many requests","details":"limit 100/min","timestamp":"2025-01-01T00:00:00Z"}`,
			want:   APIError{Message: "Too many requests", Code: "429", Details: []string{"limit 100/min"}, RequestID: "req_42"},
			is:     []error{ErrRateLimited},
		},
		{
			name: "KYC hold, sandbox shape", status: 403,
			body: `{"title":"Compliance hold","message":"User is on a compliance hold. Documents required: ` + kycLinkURL + `","code":"KYC_HOLD","error":{"reason":"kyc_hold","details":["` + kycLinkURL + `"]}}`,
			want: APIError{Title: "Compliance hold", Message: "User is on a compliance hold. Documents required: " + kycLinkURL,
				Code: "KYC_HOLD", Reason: "kyc_hold", Details: []string{kycLinkURL}},
			is: []error{ErrKYCHold}, kycLink: kycLinkURL,
		},
		{
			name: "KYC link only in a nested field", status: 403,
			body:    `{"title":"Forbidden","message":"Account locked","code":"403","meta":{"compliance":{"documents":"` + kycLinkURL + `"}}}`,
			want:    APIError{Title: "Forbidden", Message: "Account locked", Code: "403"},
			is:      []error{ErrKYCHold},
			kycLink: kycLinkURL,
		},
		{
			name: "KYC link in a dedicated field of a 400", status: 400,
			body:    `{"message":"documents required","kyc_upload_url":"` + kycLinkURL + `"}`,
			want:    APIError{Message: "documents required"},
			is:      []error{ErrKYCHold},
			kycLink: kycLinkURL,
		},
		{
			name: "KYC code, link in Errors with trailing dot", status: 403,
			body:    `{"Exception":"KYC","code":"KYC_HOLD","Errors":["Upload documents at ` + kycLinkURL + `."]}`,
			want:    APIError{Message: "KYC", Code: "KYC_HOLD", Details: []string{"Upload documents at " + kycLinkURL + "."}},
			is:      []error{ErrKYCHold},
			kycLink: kycLinkURL,
		},
		{
			name: "docs link in a 400 is no hold", status: 400,
			body:  `{"title":"Bad Request","message":"see https://docs.masspay.io/errors"}`,
			want:  APIError{Title: "Bad Request", Message: "see https://docs.masspay.io/errors"},
			isNot: []error{ErrKYCHold},
		},
		{
			name: "NSF load", status: 400,
			body: `{"title":"Insufficient funds","message":"Balance too low","code":"NSF"}`,
			want: APIError{Title: "Insufficient funds", Message: "Balance too low", Code: "NSF"},
			is:   []error{ErrInsufficientFunds}, isNot: []error{ErrDuplicate},
		},
		{
			name: "duplicate load", status: 409,
			body: `{"title":"Conflict","message":"client_load_id already used","code":"DUPLICATE"}`,
			want: APIError{Title: "Conflict", Message: "client_load_id already used", Code: "DUPLICATE"},
			is:   []error{ErrDuplicate}, isNot: []error{ErrInsufficientFunds},
		},
		{
			name: "duplicate email", status: 409,
			body: `{"title":"Conflict","message":"a user with this email already exists","code":"DUPLICATE_EMAIL","error":{"reason":"duplicate","details":["email"]}}`,
			want: APIError{Title: "Conflict", Message: "a user with this email already exists", Code: "DUPLICATE_EMAIL", Reason: "duplicate", Details: []string{"email"}},
			is:   []error{ErrDuplicate}, isNot: []error{ErrIdempotencyKeyInUse},
		},
		{
			name: "idempotency key in use is no duplicate", status: 409,
			body: `{"title":"Idempotency key in use","message":"still being processed","code":"IDEMPOTENCY_KEY_IN_USE","error":{"reason":"idempotency_key_in_use"}}`,
			want: APIError{Title: "Idempotency key in use", Message: "still being processed", Code: "IDEMPOTENCY_KEY_IN_USE", Reason: "idempotency_key_in_use"},
			is:   []error{ErrIdempotencyKeyInUse}, isNot: []error{ErrDuplicate},
		},
		{
			name: "idempotency key reused", status: 422,
			body: `{"title":"Idempotency key reused","message":"different request","code":"IDEMPOTENCY_KEY_REUSED","error":{"reason":"idempotency_key_reused"}}`,
			want: APIError{Title: "Idempotency key reused", Message: "different request", Code: "IDEMPOTENCY_KEY_REUSED", Reason: "idempotency_key_reused"},
			is:   []error{ErrIdempotencyKeyReused}, isNot: []error{ErrDuplicate, ErrIdempotencyKeyInUse},
		},
		{
			name: "HTML from a proxy", status: 502,
			body: `<html><body>Bad Gateway</body></html>`,
			want: APIError{Message: "<html><body>Bad Gateway</body></html>"},
		},
		{
			name: "empty body", status: 504, body: ``,
			want: APIError{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			got := newAPIError("POST", "/payout/usr_1", tc.status, h, []byte(tc.body), redactor(testKey))
			tc.want.StatusCode, tc.want.Method, tc.want.Path, tc.want.Body = tc.status, "POST", "/payout/usr_1", []byte(tc.body)
			tc.want.KYCUploadURL = tc.kycLink
			if got.Title != tc.want.Title || got.Message != tc.want.Message || got.Code != tc.want.Code ||
				got.Reason != tc.want.Reason || got.KYCUploadURL != tc.want.KYCUploadURL || got.RequestID != tc.want.RequestID ||
				!slices.Equal(got.Details, tc.want.Details) || !bytes.Equal(got.Body, tc.want.Body) ||
				got.StatusCode != tc.status {
				t.Fatalf("decoded\n %#v\nwant\n %#v", *got, tc.want)
			}
			for _, s := range tc.is {
				if !errors.Is(got, s) {
					t.Errorf("errors.Is(%v) = false", s)
				}
			}
			for _, s := range tc.isNot {
				if errors.Is(got, s) {
					t.Errorf("errors.Is(%v) = true", s)
				}
			}
			if KYCUploadURL(got) != tc.kycLink {
				t.Errorf("KYCUploadURL = %q", KYCUploadURL(got))
			}
			if got.Error() == "" || !strings.Contains(got.Error(), "/payout/usr_1") {
				t.Errorf("Error() = %q", got.Error())
			}
		})
	}
}

// TestKYCHoldReachesCaller runs the hold through the client: the link comes
// back from a Load, and the 403 is not retried.
func TestKYCHoldReachesCaller(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		jsonAnswer(w, 403, `{"title":"Compliance hold","message":"User is on a compliance hold. Documents required: `+kycLinkURL+`","code":"KYC_HOLD","error":{"reason":"kyc_hold","details":["`+kycLinkURL+`"]}}`)
	})
	c, _ := newTestClient(t, api.URL(), nil)
	_, err := c.Load(context.Background(), "row-9", "usr_9", LoadTxn{ClientLoadID: "row-9"})
	if !errors.Is(err, ErrKYCHold) || KYCUploadURL(err) != kycLinkURL {
		t.Fatalf("err = %v, link %q", err, KYCUploadURL(err))
	}
	if IsRetryable(err) || len(api.Hits()) != 1 {
		t.Fatalf("a hold is definite: retryable=%v requests=%d", IsRetryable(err), len(api.Hits()))
	}
}

func TestPayoutRefusalsInside200(t *testing.T) {
	for _, tc := range []struct {
		token string
		kind  error
	}{{"NSF", ErrInsufficientFunds}, {"DUPLICATE", ErrDuplicate}} {
		api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			jsonAnswer(w, 200, `{"payout_token":"`+tc.token+`","client_transfer_id":"row-1","source_amount":5,"status":"ERROR"}`)
		})
		c, _ := newTestClient(t, api.URL(), nil)
		resp, err := c.InitiatePayout(context.Background(), "row-1", "usr_1", payoutTxn("5"))
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: err = %v", tc.token, err)
		}
		if resp == nil || resp.PayoutToken != tc.token || resp.ClientTransferID != "row-1" {
			t.Errorf("%s: decoded answer not returned alongside: %+v", tc.token, resp)
		}
		var pe *PayoutError
		if !errors.As(err, &pe) || pe.ClientTransferID != "row-1" || IsRetryable(err) || IsUnknownOutcome(err) {
			t.Errorf("%s: PayoutError = %+v", tc.token, pe)
		}
		if len(api.Hits()) != 1 {
			t.Errorf("%s: retried a definite answer", tc.token)
		}
	}
}

func TestCommitStatuses(t *testing.T) {
	for _, tc := range []struct {
		status, errs string
		kind         error
	}{
		{"success", `null`, nil},
		{"ex_rate_expired", `"Quote expired"`, ErrQuoteExpired},
		{"addtl_attr_req", `["BankCode required"]`, ErrAdditionalAttributes},
		{"nsf", `""`, ErrInsufficientFunds},
		{"failure", `["Payer refused"]`, ErrCommitFailed},
		{"something_new", `null`, ErrUnclearAnswer},
	} {
		api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			jsonAnswer(w, 200, `{"payout_token":"payout_7","status":"`+tc.status+`","pickup_code":"PX1","errors":`+tc.errs+`}`)
		})
		c, _ := newTestClient(t, api.URL(), nil)
		resp, err := c.CommitPayout(context.Background(), "row-7#commit", "usr_1", "payout_7")
		if resp == nil || resp.Status != tc.status || resp.PayoutToken != "payout_7" {
			t.Fatalf("%s: answer not returned: %+v", tc.status, resp)
		}
		if tc.kind == nil {
			if err != nil {
				t.Errorf("success: err = %v", err)
			}
			continue
		}
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: err = %v, want %v", tc.status, err, tc.kind)
		}
		for _, other := range []error{ErrQuoteExpired, ErrAdditionalAttributes, ErrInsufficientFunds, ErrCommitFailed, ErrUnclearAnswer} {
			if other != tc.kind && errors.Is(err, other) {
				t.Errorf("%s also matches %v", tc.status, other)
			}
		}
	}
}

// TestKeyNeverLogged runs successes, retries, a transport failure and a 401
// that echoes the key through a debug logger, then greps every log line and
// error string for the key.
func TestKeyNeverLogged(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch {
		case r.URL.Path == "/v1.0.0/payout/account/balance" && n == 1:
			jsonAnswer(w, 503, `{"title":"busy","message":"token `+auth+`"}`)
		case r.URL.Path == "/v1.0.0/payout/account/balance":
			jsonAnswer(w, 200, `[]`)
		case r.URL.Path == "/v1.0.0/payout/user/lookup":
			jsonAnswer(w, 401, `{"title":"Unauthorized","message":"key `+strings.TrimPrefix(auth, "Bearer ")+` is wrong","details":["`+auth+`"]}`)
		default:
			hangUp(w)
		}
	})
	var buf bytes.Buffer
	log := zerolog.New(&buf).Level(zerolog.InfoLevel)
	c, _ := newTestClient(t, api.URL(), func(cfg *Config) { cfg.Logger, cfg.Debug = &log, true })

	var errs []error
	_, err := c.Balances(context.Background())
	errs = append(errs, err)
	_, err = c.LookupUser(context.Background(), LookupUserParams{InternalUserID: "u1"})
	errs = append(errs, err)
	_, err = c.CommitPayout(context.Background(), "row#commit", "usr_1", "payout_1")
	errs = append(errs, err)

	if errs[0] != nil || !errors.Is(errs[1], ErrUnauthorized) || !IsUnknownOutcome(errs[2]) {
		t.Fatalf("unexpected outcomes: %v", errs)
	}
	for _, e := range errs[1:] {
		if strings.Contains(e.Error(), testKey) {
			t.Errorf("error carries the key: %s", e)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var attempts, retries int
	for _, line := range lines {
		if strings.Contains(line, testKey) {
			t.Errorf("log line carries the key: %s", line)
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch ev["message"] {
		case "masspay: request":
			attempts++
			for _, f := range []string{"method", "path", "status", "latency", "attempt"} {
				if _, ok := ev[f]; !ok {
					t.Errorf("debug line lacks %s: %s", f, line)
				}
			}
			hdr, _ := ev["headers"].(map[string]any)
			if hdr["Authorization"] != "Bearer "+redacted {
				t.Errorf("Authorization header not redacted in %s", line)
			}
		case "masspay: retrying":
			retries++
			if ev["reason"] == "" || ev["reason"] == nil {
				t.Errorf("retry without reason: %s", line)
			}
		}
	}
	// balance 503 + 200, lookup 401, commit hang-ups 1 + 3 retries.
	if attempts != 7 || retries != 4 {
		t.Errorf("attempt lines = %d, retry lines = %d; want 7 and 4\n%s", attempts, retries, buf.String())
	}
}
