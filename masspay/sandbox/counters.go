package sandbox

import (
	"strings"
	"sync"
)

// requestCounter counts the API requests the sandbox was sent, by method and
// path shape ("POST /{}", "GET /attribute/{}/{}/{}"): how a benchmark or
// test counts the calls a run makes where MassPay would see them, whatever
// client made them. Requests refused by authentication or routing are not
// counted; requests answered with an injected fault are.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *requestCounter) add(method string, seg []string) {
	name := method + " " + pathShape(seg)
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[name]++
	c.mu.Unlock()
}

func (c *requestCounter) snapshot(reset bool) map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	if reset {
		c.n = nil
	}
	return out
}

// pathWord holds the fixed words of MassPay's paths; every other segment is
// a token or a code and is shown as {}.
var pathWord = map[string]bool{
	"account": true, "balance": true, "statement": true, "user": true, "lookup": true, "history": true,
	"load": true, "country": true, "list": true, "best": true, "cheapest": true, "service": true,
	"alternatives": true, "attribute": true, "velocity": true, "wallet": true, "autopayout": true,
	"card": true, "tax": true, "spendback": true, "user-agreements": true, "kyc": true,
}

func pathShape(seg []string) string {
	parts := make([]string, len(seg))
	for i, s := range seg {
		if pathWord[s] {
			parts[i] = s
		} else {
			parts[i] = "{}"
		}
	}
	return "/" + strings.Join(parts, "/")
}

// Requests returns how many API requests the sandbox was sent since it
// started (or since the last ResetRequests), by method and path shape, e.g.
// "POST /{}" (initiate) or "PUT /{}/{}" (commit).
func (s *Sandbox) Requests() map[string]int64 { return s.requests.snapshot(false) }

// ResetRequests returns Requests and starts counting from zero.
func (s *Sandbox) ResetRequests() map[string]int64 { return s.requests.snapshot(true) }
