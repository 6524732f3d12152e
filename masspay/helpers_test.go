package masspay

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testKey is long and distinctive so a grep for it cannot match by accident.
const testKey = "sk_test_Zq8mW3vR7pLx2NcY"

// hit is one request as the test server saw it.
type hit struct {
	Method, Path, RawQuery string
	EscapedPath            string
	Key, Auth, UA, CT      string
	Body                   []byte
}

// fakeAPI is an httptest server that records every request and answers
// through respond, which gets the 1-based request number. It tests the
// client's own request path (retries, headers, decoding), not MassPay.
type fakeAPI struct {
	mu      sync.Mutex
	hits    []hit
	respond func(n int, w http.ResponseWriter, r *http.Request)
	srv     *httptest.Server
}

func newFakeAPI(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits = append(f.hits, hit{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, EscapedPath: r.URL.EscapedPath(),
			Key: r.Header.Get("Idempotency-Key"), Auth: r.Header.Get("Authorization"),
			UA: r.Header.Get("User-Agent"), CT: r.Header.Get("Content-Type"), Body: body,
		})
		n := len(f.hits)
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.respond(n, w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL to give the client: a path prefix like MassPay's.
func (f *fakeAPI) URL() string { return f.srv.URL + "/v1.0.0/payout" }

func (f *fakeAPI) Hits() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// jsonAnswer writes status and body as a JSON answer.
func jsonAnswer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// sleepLog records the waits the client asked for instead of sleeping, so
// backoff and Retry-After are checked without timing anything.
type sleepLog struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newTestClient returns a client for base whose sleeps are recorded.
func newTestClient(t *testing.T, base string, mod func(*Config)) (*Client, *sleepLog) {
	t.Helper()
	cfg := Config{BaseURL: base, APIKey: testKey, MaxRetries: 3, Timeout: 5 * time.Second,
		MinRetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 80 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	sl := &sleepLog{}
	c.sleep = sl.sleep
	return c, sl
}
