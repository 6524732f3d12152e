package masspay

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestUnauthorizedIsNotRetriedAndHidesKey(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		jsonAnswer(w, 401, `{"title":"Unauthorized","message":"bad key `+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")+`","code":"401"}`)
	})
	c, _ := newTestClient(t, api.URL(), nil)
	_, err := c.Balances(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if IsRetryable(err) || IsUnknownOutcome(err) {
		t.Errorf("401 must be definite and non-retryable")
	}
	if len(api.Hits()) != 1 {
		t.Fatalf("requests = %d, want 1", len(api.Hits()))
	}
	var ae *APIError
	errors.As(err, &ae)
	for what, s := range map[string]string{"Error()": err.Error(), "Message": ae.Message, "Body": string(ae.Body)} {
		if strings.Contains(s, testKey) {
			t.Errorf("%s carries the API key: %s", what, s)
		}
	}
	if !strings.Contains(ae.Message, redacted) {
		t.Errorf("Message %q: the echoed key should be replaced by %s", ae.Message, redacted)
	}
}

func TestIdempotencyKeyRequiredBeforeIO(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) { jsonAnswer(w, 200, `{}`) })
	c, _ := newTestClient(t, api.URL(), nil)
	ctx := context.Background()
	_, err1 := c.InitiatePayout(ctx, "", "usr_1", payoutTxn("1"))
	_, err2 := c.CommitPayout(ctx, " ", "usr_1", "payout_1")
	_, err3 := c.Load(ctx, "", "usr_1", LoadTxn{ClientLoadID: "x", Amount: decimal.NewFromInt(1)})
	for i, err := range []error{err1, err2, err3} {
		if !errors.Is(err, ErrIdempotencyKeyRequired) {
			t.Errorf("call %d: err = %v, want ErrIdempotencyKeyRequired", i+1, err)
		}
	}
	_, err := c.GetUser(ctx, "")
	if !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("GetUser(\"\") = %v, want ErrInvalidRequest", err)
	}
	both := payoutTxn("1")
	both.DestinationAmount = both.SourceAmount
	if _, err := c.InitiatePayout(ctx, "k", "usr_1", both); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("both amounts: %v", err)
	}
	if _, err := c.CreateUser(ctx, "bad\nkey", User{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("key with newline: %v", err)
	}
	if n := len(api.Hits()); n != 0 {
		t.Fatalf("%d requests sent for calls refused up front", n)
	}
}

func TestRateLimiterGatesEveryAttempt(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		jsonAnswer(w, 500, `{"title":"down"}`)
	})
	// One token per 1000 s, burst 1: the first attempt passes, the retry
	// cannot get a token before the deadline, so Wait refuses at once.
	c, _ := newTestClient(t, api.URL(), func(cfg *Config) { cfg.RateLimit, cfg.RateBurst = 0.001, 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Balances(ctx)
	if err == nil || !strings.Contains(err.Error(), "rate limiter") {
		t.Fatalf("err = %v, want a rate limiter refusal", err)
	}
	if n := len(api.Hits()); n != 1 {
		t.Fatalf("requests = %d, want 1: the retry must wait for the limiter", n)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !IsUnknownOutcome(err) {
		t.Fatalf("err = %v: want the deadline and the first attempt's unknown 500", err)
	}
}

func TestHeaders(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			jsonAnswer(w, 200, `[]`)
			return
		}
		jsonAnswer(w, 200, `{"user_token":"usr_1","status":"ACTIVE"}`)
	})
	c, _ := newTestClient(t, api.URL()+"/", nil) // trailing slash is trimmed
	if _, err := c.CreateUser(context.Background(), "user:u1", User{Profile: Profile{InternalUserID: "u1"}}); err != nil {
		t.Fatal(err)
	}
	h := api.Hits()[0]
	if h.Auth != "Bearer "+testKey || h.UA != "payrun/"+Version || h.CT != "application/json" ||
		h.Key != "user:u1" || h.Path != "/v1.0.0/payout/user" {
		t.Fatalf("request = %+v", h)
	}
	if _, err := c.Balances(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := api.Hits()[1]; h.Key != "" || h.CT != "" || len(h.Body) != 0 {
		t.Fatalf("GET carried a key or body: %+v", h)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for _, cfg := range []Config{
		{APIKey: "k"},
		{BaseURL: "ftp://x", APIKey: "k"},
		{BaseURL: "https://user:pw@api.masspay.io", APIKey: "k"},
		{BaseURL: ProductionURL},
		{BaseURL: ProductionURL, APIKey: "a\nb"},
		{BaseURL: ProductionURL, APIKey: "k", RateLimit: -1},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	c, err := NewProduction("k")
	if err != nil || c.BaseURL() != ProductionURL {
		t.Fatalf("NewProduction: %v %v", c, err)
	}
	c, err = NewStaging("k", WithMaxRetries(-1), WithRateLimit(5, 0))
	if err != nil || c.BaseURL() != StagingURL || c.maxRetries != 0 || c.pace.limiter().Burst() != 5 {
		t.Fatalf("NewStaging: %+v %v", c, err)
	}
}
