package masspay_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// logSink is a zerolog writer the client's goroutines may share.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logSink) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, `"level":"warn"`) {
			out = append(out, line)
		}
	}
	return out
}

// withLog gives the client a logger writing to a fresh sink.
func withLog(sink *logSink) func(*masspay.Config) {
	l := zerolog.New(sink).Level(zerolog.InfoLevel)
	return func(c *masspay.Config) { c.Logger = &l }
}

// routePaths lists the route paths (best, cheapest or the country) the
// client asked, in order, with their status.
func routePaths(w *wireLog) []string {
	var out []string
	for _, e := range w.exchanges() {
		if i := strings.Index(e.Path, "/country/"); i >= 0 {
			out = append(out, e.Path[i:]+" "+http.StatusText(e.Status))
		}
	}
	return out
}

func tokensOf(cs *masspay.CountryServices) []string {
	var out []string
	for _, r := range cs.Routes() {
		out = append(out, r.DestinationToken)
	}
	return out
}

// TestPreferredRoutesAsksBestFirst: where MassPay has /best, PreferredRoutes
// asks it alone and returns its answer.
func TestPreferredRoutesAsksBestFirst(t *testing.T) {
	sink := &logSink{}
	e := startSandbox(t, nil, withLog(sink))
	p := masspay.RouteParams{SourceCurrency: "USD", DestinationCurrency: "MXN"}
	got, err := e.c.PreferredRoutes(e.ctx, "MEX", p)
	if err != nil {
		t.Fatalf("PreferredRoutes: %v", err)
	}
	want, err := e.c.BestRoutes(e.ctx, "MEX", p)
	if err != nil {
		t.Fatalf("BestRoutes: %v", err)
	}
	if !reflect.DeepEqual(tokensOf(got), tokensOf(want)) || len(tokensOf(got)) == 0 {
		t.Errorf("routes %v, want /best's %v", tokensOf(got), tokensOf(want))
	}
	if paths := routePaths(e.wire); len(paths) != 2 || paths[0] != "/country/MEX/best OK" {
		t.Errorf("asked %v, want /best once for each call", paths)
	}
	if w := sink.warnings(); len(w) != 0 {
		t.Errorf("warnings with /best present: %v", w)
	}
}

// TestPreferredRoutesWithoutBest runs against a sandbox with /best switched
// off (404 no such path): the first call falls back to /cheapest, every later
// one, from any number of workers, goes straight there, and the fallback is
// logged once.
func TestPreferredRoutesWithoutBest(t *testing.T) {
	sink := &logSink{}
	e := startSandbox(t, func(c *sandbox.Config) { c.NoBestRoute = true }, withLog(sink))
	p := masspay.RouteParams{Amount: ptr(dec("200")), SourceCurrency: "USD", OnlyGenericPayers: true}

	got, err := e.c.PreferredRoutes(e.ctx, "PHL", p)
	if err != nil {
		t.Fatalf("PreferredRoutes without /best: %v", err)
	}
	want, err := e.c.CheapestRoutes(e.ctx, "PHL", p)
	if err != nil {
		t.Fatalf("CheapestRoutes: %v", err)
	}
	if !reflect.DeepEqual(tokensOf(got), tokensOf(want)) || len(tokensOf(got)) == 0 {
		t.Errorf("routes %v, want /cheapest's %v", tokensOf(got), tokensOf(want))
	}
	wantPaths := []string{"/country/PHL/best Not Found", "/country/PHL/cheapest OK", "/country/PHL/cheapest OK"}
	if paths := routePaths(e.wire); !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("asked %v, want %v", paths, wantPaths)
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.c.PreferredRoutes(e.ctx, "USA", p); err != nil {
				t.Errorf("PreferredRoutes from a worker: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := len(e.wire.matching("GET", "/best")); n != 1 {
		t.Errorf("/best asked %d times; once is enough to know it is missing", n)
	}
	w := sink.warnings()
	if len(w) != 1 || !strings.Contains(w[0], "/country/{cc}/best") || !strings.Contains(w[0], "/country/{cc}/cheapest") {
		t.Errorf("want one warning naming /best and /cheapest, got %v", w)
	}
}

// TestPreferredRoutesFallbackOrder puts a MassPay that also refuses
// /cheapest with 405 in front of the real sandbox (without /best): the order
// is /best, /cheapest, then the full list, each missing path is remembered
// and logged once, and a 404 that every path gives (an unknown payee) is
// the caller's error and remembers nothing.
func TestPreferredRoutesFallbackOrder(t *testing.T) {
	sb, err := sandbox.New(sandbox.Config{APIKey: sbKey, Clock: sandbox.NewManualClock(t0), Seed: 1, NoBestRoute: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/cheapest") {
			w.Header().Set("Allow", "OPTIONS")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			io.WriteString(w, `{"title":"Method Not Allowed","message":"GET is not allowed here","code":"METHOD_NOT_ALLOWED"}`)
			return
		}
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	wire := &wireLog{next: http.DefaultTransport}
	sink := &logSink{}
	cfg := masspay.Config{BaseURL: front.URL + "/v1.0.0/payout", APIKey: sbKey, HTTPClient: &http.Client{Transport: wire},
		Timeout: 10 * time.Second, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond}
	withLog(sink)(&cfg)
	c, err := masspay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	// An unknown payee: every path answers 404, so nothing is missing.
	_, err = c.PreferredRoutes(ctx, "USA", masspay.RouteParams{UserToken: "usr_nobody"})
	if !errors.Is(err, masspay.ErrNotFound) || !strings.Contains(err.Error(), "/country/USA") {
		t.Errorf("unknown payee: %v, want the full list's 404", err)
	}
	wantPaths := []string{"/country/USA/best Not Found", "/country/USA/cheapest Method Not Allowed", "/country/USA Not Found"}
	if paths := routePaths(wire); !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("unknown payee: asked %v, want %v", paths, wantPaths)
	}
	if w := sink.warnings(); len(w) != 0 {
		t.Errorf("a 404 from every path marked one missing: %v", w)
	}

	got, err := c.PreferredRoutes(ctx, "MEX", masspay.RouteParams{SourceCurrency: "USD"})
	if err != nil {
		t.Fatalf("PreferredRoutes: %v", err)
	}
	if _, err := c.PreferredRoutes(ctx, "MEX", masspay.RouteParams{SourceCurrency: "USD"}); err != nil {
		t.Fatalf("PreferredRoutes again: %v", err)
	}
	want, err := c.CountryRoutes(ctx, "MEX", masspay.RouteParams{SourceCurrency: "USD"})
	if err != nil {
		t.Fatalf("CountryRoutes: %v", err)
	}
	if !reflect.DeepEqual(tokensOf(got), tokensOf(want)) || len(tokensOf(got)) == 0 {
		t.Errorf("routes %v, want the full list %v", tokensOf(got), tokensOf(want))
	}
	wantPaths = append(wantPaths, "/country/MEX/best Not Found", "/country/MEX/cheapest Method Not Allowed",
		"/country/MEX OK", "/country/MEX OK", "/country/MEX OK")
	if paths := routePaths(wire); !reflect.DeepEqual(paths, wantPaths) {
		t.Errorf("asked %v,\nwant %v", paths, wantPaths)
	}
	if w := sink.warnings(); len(w) != 2 || !strings.Contains(w[0]+w[1], "/best") || !strings.Contains(w[0]+w[1], "/cheapest") {
		t.Errorf("want one warning for /best and one for /cheapest, got %v", w)
	}
}
