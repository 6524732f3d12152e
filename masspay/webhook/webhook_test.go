package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/webhook"
)

var secret = []byte("s3cret")

const body = `{"event_type":"payout","status":"COMPLETED","payout_token":"payout_1","client_transfer_id":"a-1","source_amount":10.50}`

func do(t *testing.T, h http.Handler, method, b, sig string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "/hook", strings.NewReader(b))
	if sig != "" {
		req.Header.Set(masspay.SignatureHeader, sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerAnswers(t *testing.T) {
	now := time.Now()
	var got []masspay.WebhookEvent
	fail := false
	h := webhook.New(secret, func(ctx context.Context, ev masspay.WebhookEvent, _ time.Time) error {
		if fail {
			return errors.New("disk full")
		}
		got = append(got, ev)
		return nil
	})
	h.MaxBodyBytes = 512
	sign := func(b string, ts time.Time) string { return masspay.SignPayload(secret, ts, []byte(b)) }

	cases := []struct {
		name   string
		method string
		body   string
		sig    string
		fail   bool
		want   int
	}{
		{"ok", http.MethodPost, body, sign(body, now), false, 200},
		{"get", http.MethodGet, "", "", false, 405},
		{"unsigned", http.MethodPost, body, "", false, 401},
		{"forged", http.MethodPost, body, masspay.SignPayload([]byte("other"), now, []byte(body)), false, 401},
		{"garbled header", http.MethodPost, body, "t=abc,s=zz", false, 401},
		{"stale", http.MethodPost, body, sign(body, now.Add(-10*time.Minute)), false, 401},
		{"bad json", http.MethodPost, `{"event_type":`, sign(`{"event_type":`, now), false, 400},
		{"no status", http.MethodPost, `{"event_type":"payout"}`, sign(`{"event_type":"payout"}`, now), false, 400},
		{"too big", http.MethodPost, strings.Repeat(" ", 600) + body, sign(strings.Repeat(" ", 600)+body, now), false, 413},
		{"callback fails", http.MethodPost, body, sign(body, now), true, 500},
	}
	for _, c := range cases {
		fail = c.fail
		n := len(got)
		rec := do(t, h, c.method, c.body, c.sig)
		if rec.Code != c.want {
			t.Errorf("%s: %d, want %d (%s)", c.name, rec.Code, c.want, rec.Body)
		}
		if c.want == 200 && len(got) != n+1 {
			t.Errorf("%s: callback not called", c.name)
		}
		if c.want != 200 && c.want != 500 && len(got) != n {
			t.Errorf("%s: callback called for a refused delivery", c.name)
		}
		if c.want == 405 && rec.Header().Get("Allow") != http.MethodPost {
			t.Errorf("405 without Allow: POST")
		}
	}
	if len(got) != 1 || got[0].PayoutToken != "payout_1" || got[0].SourceAmount == nil || got[0].SourceAmount.String() != "10.5" {
		t.Fatalf("decoded events = %+v", got)
	}
}

func TestHandlerWithoutSecretRefusesAll(t *testing.T) {
	h := webhook.New(nil, func(context.Context, masspay.WebhookEvent, time.Time) error { return nil })
	if rec := do(t, h, http.MethodPost, body, masspay.SignPayload(nil, time.Now(), []byte(body))); rec.Code != 401 {
		t.Fatalf("no secret: %d, want 401", rec.Code)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	var started, finished atomic.Int32
	h := webhook.New(secret, func(context.Context, masspay.WebhookEvent, time.Time) error {
		started.Add(1)
		<-release
		finished.Add(1)
		return nil
	})
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- webhook.Serve(ctx, "127.0.0.1:0", h, 5*time.Second, func(a string) { addrc <- a }) }()
	addr := <-addrc

	respc := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", bytes.NewReader([]byte(body)))
		req.Header.Set(masspay.SignatureHeader, masspay.SignPayload(secret, time.Now(), []byte(body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			respc <- -1
			return
		}
		resp.Body.Close()
		respc <- resp.StatusCode
	}()
	for started.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel() // shutdown begins with a delivery in flight
	for {    // new connections are refused once shutdown began
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(time.Millisecond)
	}
	close(release)
	if code := <-respc; code != 200 {
		t.Fatalf("in-flight delivery answered %d, want 200", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if finished.Load() != 1 {
		t.Fatal("callback did not finish before Serve returned")
	}
}
