package masspay

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

const quoteJSON = `{"payout_token":"payout_1","client_transfer_id":"row-1","source_amount":100.13,"destination_amount":100.13,"exchange_rate":1,"fee":1.5,"status":"PENDING"}`

func payoutTxn(amount string) PayoutTxn {
	a := decimal.RequireFromString(amount)
	return PayoutTxn{ClientTransferID: "row-1", DestinationCurrencyCode: "USD", SourceToken: "clnt_wlt_usd",
		DestinationToken: "dst_1", SourceAmount: &a}
}

func TestRetriesRetryableStatusesWithSameKeyAndBody(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504, 429} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n < 3 {
					jsonAnswer(w, status, `{"title":"oops","message":"try again","code":"E"}`)
					return
				}
				jsonAnswer(w, 200, quoteJSON)
			})
			c, sl := newTestClient(t, api.URL(), nil)
			resp, err := c.InitiatePayout(context.Background(), "row-1", "usr_1", payoutTxn("100.13"))
			if err != nil {
				t.Fatalf("InitiatePayout: %v", err)
			}
			if resp.PayoutToken != "payout_1" || !resp.SourceAmount.Equal(decimal.RequireFromString("100.13")) {
				t.Fatalf("decoded %+v", resp)
			}
			hits := api.Hits()
			if len(hits) != 3 {
				t.Fatalf("requests = %d, want 3", len(hits))
			}
			for i, h := range hits {
				if h.Key != "row-1" {
					t.Errorf("attempt %d Idempotency-Key = %q", i+1, h.Key)
				}
				if !bytes.Equal(h.Body, hits[0].Body) {
					t.Errorf("attempt %d body %s differs from first %s", i+1, h.Body, hits[0].Body)
				}
				if h.Method != http.MethodPost || h.Path != "/v1.0.0/payout/usr_1" {
					t.Errorf("attempt %d = %s %s", i+1, h.Method, h.Path)
				}
			}
			if got := len(sl.waits()); got != 2 {
				t.Fatalf("waits = %d, want 2", got)
			}
		})
	}
}

func TestRetryAfterSecondsAndDateHonoured(t *testing.T) {
	now := time.Now()
	date := now.Add(30 * time.Second).UTC().Format(http.TimeFormat)
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "2")
			jsonAnswer(w, 429, `{"code":"RATE_LIMIT","message":"slow down","details":"100 per minute","timestamp":"2025-01-01T00:00:00Z"}`)
		case 2:
			w.Header().Set("Retry-After", date)
			jsonAnswer(w, 503, `{"title":"busy"}`)
		default:
			jsonAnswer(w, 200, `[]`)
		}
	})
	c, sl := newTestClient(t, api.URL(), nil)
	if _, err := c.Balances(context.Background()); err != nil {
		t.Fatalf("Balances: %v", err)
	}
	w := sl.waits()
	if len(w) != 2 {
		t.Fatalf("waits = %v", w)
	}
	if w[0] != 2*time.Second {
		t.Errorf("wait after Retry-After: 2 = %v, want 2s", w[0])
	}
	// The date has one-second resolution and the clock moved a little.
	if w[1] < 28*time.Second || w[1] > 31*time.Second {
		t.Errorf("wait after Retry-After date = %v, want about 30s", w[1])
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"0.25", 250 * time.Millisecond, true},
		{"-4", 0, true},
		{"Sat, 01 Mar 2025 12:00:05 GMT", 5 * time.Second, true},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0, true},
		{"soon", 0, false},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		jsonAnswer(w, 500, `{"title":"down"}`)
	})
	c, sl := newTestClient(t, api.URL(), func(cfg *Config) { cfg.MaxRetries = 6 })
	_, err := c.Balances(context.Background())
	if !errors.Is(err, ErrRetriesExhausted) {
		t.Fatalf("err = %v, want ErrRetriesExhausted", err)
	}
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 7 {
		t.Fatalf("RetryError = %+v", re)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 {
		t.Fatalf("last error not the 500: %v", err)
	}
	if !IsRetryable(err) || !IsUnknownOutcome(err) {
		t.Errorf("exhausted 500: retryable=%v unknown=%v, want both", IsRetryable(err), IsUnknownOutcome(err))
	}
	if len(api.Hits()) != 7 {
		t.Fatalf("requests = %d, want 7", len(api.Hits()))
	}
	ceil := 10 * time.Millisecond
	for i, d := range sl.waits() {
		if d < 0 || d > ceil {
			t.Errorf("wait %d = %v, outside [0, %v]", i+1, d, ceil)
		}
		ceil = min(2*ceil, 80*time.Millisecond)
	}
}

func TestMutatingWithoutKeyNotRetriedOnceSent(t *testing.T) {
	for _, status := range []int{500, 503, 429} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
				jsonAnswer(w, status, `{"title":"Internal","message":"boom","code":"500"}`)
			})
			c, _ := newTestClient(t, api.URL(), nil)
			_, err := c.CreateUser(context.Background(), "", User{InternalUserID: "u1", Email: "a@b.c"})
			if n := len(api.Hits()); n != 1 {
				t.Fatalf("requests = %d, want 1 (POST without key must not be retried)", n)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != status {
				t.Fatalf("err = %v", err)
			}
			if errors.Is(err, ErrRetriesExhausted) {
				t.Errorf("a request never retried is not 'retries exhausted': %v", err)
			}
			if got, want := IsUnknownOutcome(err), status >= 500; got != want {
				t.Errorf("IsUnknownOutcome = %v, want %v", got, want)
			}
		})
	}
}

func TestGetWithoutKeyIsRetried(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			jsonAnswer(w, 502, `bad gateway`)
			return
		}
		jsonAnswer(w, 200, `[{"code":"US","name":"United States","three_letter_code":"USA"}]`)
	})
	c, _ := newTestClient(t, api.URL(), nil)
	cs, err := c.Countries(context.Background())
	if err != nil || len(cs) != 1 || cs[0].ThreeLetterCode != "USA" {
		t.Fatalf("Countries = %+v, %v", cs, err)
	}
	if len(api.Hits()) != 2 {
		t.Fatalf("requests = %d, want 2", len(api.Hits()))
	}
}

// A connection that is refused never carried a byte of the request, so even
// a POST without a key may be retried; the outcome is known (nothing happened).
func TestDialErrorRetriedEvenWithoutKey(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, sl := newTestClient(t, "http://"+addr+"/v1.0.0/payout", nil)
	_, err = c.CreateUser(context.Background(), "", User{InternalUserID: "u1"})
	if !errors.Is(err, ErrRetriesExhausted) {
		t.Fatalf("err = %v, want retries exhausted", err)
	}
	var te *TransportError
	if !errors.As(err, &te) || te.Sent {
		t.Fatalf("want a TransportError with Sent=false, got %#v", err)
	}
	if IsUnknownOutcome(err) {
		t.Errorf("refused connection reported as unknown outcome")
	}
	if !IsRetryable(err) {
		t.Errorf("refused connection not retryable")
	}
	if len(sl.waits()) != 3 {
		t.Errorf("waits = %d, want 3", len(sl.waits()))
	}
}

// hangUp answers by closing the connection after reading the request: the
// bytes reached the server, the answer never came back.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestLostResponseRetriedOnlyWithKey(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 || r.Header.Get("Idempotency-Key") == "" {
			hangUp(w)
			return
		}
		jsonAnswer(w, 200, `{"payout_token":"payout_1","status":"success"}`)
	})
	c, _ := newTestClient(t, api.URL(), nil)
	resp, err := c.CommitPayout(context.Background(), "row-1#commit", "usr_1", "payout_1")
	if err != nil || resp.Status != CommitSuccess {
		t.Fatalf("CommitPayout = %+v, %v", resp, err)
	}
	if len(api.Hits()) != 2 {
		t.Fatalf("requests = %d, want 2", len(api.Hits()))
	}

	_, err = c.UpdateUser(context.Background(), "", "usr_1", UpdateUser{City: "Lima"})
	if len(api.Hits()) != 3 {
		t.Fatalf("PUT without key was retried after a lost answer: %d requests", len(api.Hits()))
	}
	var te *TransportError
	if !errors.As(err, &te) || !te.Sent || !IsUnknownOutcome(err) {
		t.Fatalf("want unknown-outcome TransportError, got %v", err)
	}
}

func TestAttemptTimeoutRetriedWithKey(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // hold the first attempt until the client gives up on it
			return
		}
		jsonAnswer(w, 200, `{"load_token":"ld_1","status":"COMPLETED","wallet_token":"usr_wlt_1"}`)
	})
	c, _ := newTestClient(t, api.URL(), func(cfg *Config) { cfg.Timeout = 500 * time.Millisecond })
	txn := LoadTxn{ClientLoadID: "row-2", SourceToken: "clnt_wlt_usd", Amount: decimal.RequireFromString("10")}
	resp, err := c.Load(context.Background(), "row-2", "usr_1", txn)
	if err != nil || resp.LoadToken != "ld_1" {
		t.Fatalf("Load = %+v, %v", resp, err)
	}
	hits := api.Hits()
	if len(hits) != 2 || hits[1].Key != "row-2" || !bytes.Equal(hits[0].Body, hits[1].Body) {
		t.Fatalf("hits = %+v", hits)
	}
}

func TestContextDeadlineStopsRetrying(t *testing.T) {
	t.Run("deadline before Retry-After", func(t *testing.T) {
		api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			jsonAnswer(w, 503, `{"title":"busy"}`)
		})
		c, sl := newTestClient(t, api.URL(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.Balances(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		if len(api.Hits()) != 1 || len(sl.waits()) != 0 {
			t.Fatalf("requests %d waits %v: the client should give up without waiting", len(api.Hits()), sl.waits())
		}
		if !IsUnknownOutcome(err) {
			t.Errorf("a 503 leaves the outcome unknown")
		}
	})
	t.Run("deadline during the wait", func(t *testing.T) {
		api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			jsonAnswer(w, 500, `{"title":"down"}`)
		})
		c, _ := newTestClient(t, api.URL(), nil)
		ctx, cancel := context.WithCancel(context.Background())
		c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
		_, err := c.InitiatePayout(ctx, "row-1", "usr_1", payoutTxn("5"))
		if !errors.Is(err, context.Canceled) || len(api.Hits()) != 1 {
			t.Fatalf("err = %v after %d requests", err, len(api.Hits()))
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != 500 {
			t.Fatalf("last answer lost from %v", err)
		}
	})
	t.Run("deadline during the attempt", func(t *testing.T) {
		api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		})
		c, _ := newTestClient(t, api.URL(), nil)
		// Generous, so the request surely arrives before the deadline even on a
		// loaded machine; the handler then holds it until the client gives up.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := c.CommitPayout(ctx, "row-1#commit", "usr_1", "payout_1")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if len(api.Hits()) != 1 {
			t.Fatalf("requests = %d, want 1", len(api.Hits()))
		}
		if !IsUnknownOutcome(err) {
			t.Errorf("a commit cut off mid-flight must be an unknown outcome")
		}
	})
}

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
	if _, err := c.CreateUser(context.Background(), "user:u1", User{InternalUserID: "u1"}); err != nil {
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

// A 409 "key in use" means the first request with this key is still being
// processed: re-sending the same key is the way to learn its outcome.
func TestKeyInUseRetriedKeyReusedNot(t *testing.T) {
	api := newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Idempotency-Key") == "reused":
			jsonAnswer(w, 422, `{"title":"Idempotency key reused","code":"IDEMPOTENCY_KEY_REUSED"}`)
		case n == 1:
			jsonAnswer(w, 409, `{"title":"Idempotency key in use","code":"IDEMPOTENCY_KEY_IN_USE","error":{"reason":"idempotency_key_in_use"}}`)
		default:
			jsonAnswer(w, 200, `{"payout_token":"payout_1","status":"success"}`)
		}
	})
	c, _ := newTestClient(t, api.URL(), nil)
	if _, err := c.CommitPayout(context.Background(), "row-1#commit", "usr_1", "payout_1"); err != nil {
		t.Fatalf("CommitPayout: %v", err)
	}
	if n := len(api.Hits()); n != 2 {
		t.Fatalf("requests = %d, want 2", n)
	}
	_, err := c.CommitPayout(context.Background(), "reused", "usr_1", "payout_1")
	if !errors.Is(err, ErrIdempotencyKeyReused) || IsRetryable(err) || errors.Is(err, ErrDuplicate) {
		t.Fatalf("err = %v", err)
	}
	if n := len(api.Hits()); n != 3 {
		t.Fatalf("requests = %d, want 3: a reused key is not retried", n)
	}
}

// An attempt that never connects does not make an earlier lost answer known.
func TestUnknownOutcomeSurvivesLaterDialErrors(t *testing.T) {
	var api *fakeAPI
	api = newFakeAPI(t, func(n int, w http.ResponseWriter, r *http.Request) {
		// Close the listener before hanging up: the other order let a fast
		// retry connect in between under load, and be served.
		api.srv.Listener.Close() // every later attempt is refused
		hangUp(w)
	})
	c, _ := newTestClient(t, api.URL(), nil)
	_, err := c.CommitPayout(context.Background(), "row-1#commit", "usr_1", "payout_1")
	var te *TransportError
	if !errors.As(err, &te) || te.Sent {
		t.Fatalf("last error = %v, want a refused connection", err)
	}
	if !IsUnknownOutcome(err) {
		t.Fatalf("the first attempt's lost answer was forgotten: %v", err)
	}
	if !errors.Is(err, ErrRetriesExhausted) || len(api.Hits()) != 1 {
		t.Fatalf("err = %v after %d requests", err, len(api.Hits()))
	}
}
