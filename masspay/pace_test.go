package masspay_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// TestClientFollowsAnnouncedRateLimit: a client with no rate limit of its
// own, or one far above MassPay's, takes 95% of the sandbox's
// X-RateLimit-Limit as its token bucket and stops running into 429s once it
// has read it.
func TestClientFollowsAnnouncedRateLimit(t *testing.T) {
	for _, own := range []float64{0, 1000} {
		srv, err := sandbox.Start(sandbox.Config{APIKey: sbKey, Faults: sandbox.Faults{RateLimit: 25}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		var tooMany, answers atomic.Int64
		c, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: sbKey, RateLimit: own,
			Observer: func(a masspay.Attempt) {
				answers.Add(1)
				if a.Status == http.StatusTooManyRequests {
					tooMany.Add(1)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := c.Balances(ctx); err != nil { // learns the limit
			t.Fatal(err)
		}
		if got := c.Rate(); got != 25*0.95 {
			t.Fatalf("own %v: Rate() = %v after an answer announcing 25/s, want 95%% of it", own, got)
		}
		// 16 callers, 50 requests: 2 s of the sandbox's budget.
		start := time.Now()
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 3; i++ {
					if _, err := c.Balances(ctx); err != nil {
						t.Errorf("Balances: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		if n := tooMany.Load(); n != 0 {
			t.Errorf("own %v: %d of %d answers were 429 after the limit was announced", own, n, answers.Load())
		}
		if el := time.Since(start); el < 800*time.Millisecond {
			t.Errorf("own %v: 48 requests at 23.75/s (24 left of the burst) took %v, want >= 0.8s", own, el)
		}
	}
}

// TestRetryAfterHoldsEveryRequest: a 429's Retry-After stops the client's
// other requests too, not only the refused one, so a busy client does not
// keep MassPay's refusals coming.
func TestRetryAfterHoldsEveryRequest(t *testing.T) {
	var n atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"code":"429","message":"Too many requests","details":"retry after 1s","timestamp":"2026-01-01T00:00:00Z"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`[]`))
	}))
	t.Cleanup(api.Close)
	var mu sync.Mutex
	var waited []time.Duration
	c, err := masspay.New(masspay.Config{BaseURL: api.URL + "/v1.0.0/payout", APIKey: sbKey,
		Observer: func(a masspay.Attempt) {
			if a.Status == http.StatusOK {
				mu.Lock()
				waited = append(waited, a.Waited)
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	if _, err := c.Balances(ctx); err != nil { // 429, then after 1 s its retry
		t.Fatal(err)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Fatalf("the refused request was retried after %v, before its Retry-After", el)
	}
	// The pause is over once the refused request is through; a request
	// started during the pause waits for it.
	mu.Lock()
	waited = nil
	mu.Unlock()
	n.Store(0)
	done := make(chan time.Duration)
	go func() {
		s := time.Now()
		c.Balances(ctx) // refused, sets the pause
		done <- time.Since(s)
	}()
	for n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	s := time.Now()
	if _, err := c.Balances(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(s); el < 800*time.Millisecond {
		t.Fatalf("a request during the Retry-After pause went out after %v", el)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(waited) != 2 || max(waited[0], waited[1]) < 800*time.Millisecond {
		t.Fatalf("Attempt.Waited of the answered requests = %v, want one of about 1s", waited)
	}
}
