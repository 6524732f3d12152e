package batch

import (
	"net/http"
	"sync"
)

// countingTransport only observes: it counts requests by method and passes
// each one unchanged to the real transport (batch/autopay's tests keep a
// copy: test files cannot be shared).
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.Method]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(methods ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(methods) == 0 {
		t := 0
		for _, v := range c.n {
			t += v
		}
		return t
	}
	t := 0
	for _, m := range methods {
		t += c.n[m]
	}
	return t
}

func (c *countingTransport) reset() {
	c.mu.Lock()
	c.n = map[string]int{}
	c.mu.Unlock()
}
