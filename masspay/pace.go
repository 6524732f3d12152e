package masspay

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Attempt describes one HTTP attempt of the client, for Config.Observer:
// what a concurrency controller needs to see MassPay's latency and its
// refusals to go faster.
type Attempt struct {
	// Method and Path are the request's; Path has no query string (it can
	// carry e-mail addresses).
	Method, Path string
	// Status is the HTTP status, 0 when no answer came (a transport error).
	Status int
	// Waited is how long the attempt waited before it was sent: for the
	// client's token bucket, and for a pause MassPay asked for with a 429's
	// Retry-After. It is time the caller spent on the call all the same.
	Waited time.Duration
	// Latency is the time from sending the request to the whole answer.
	Latency time.Duration
	// RetryAfter is the answer's Retry-After, when it had one.
	RetryAfter time.Duration
}

// followShare is the share of MassPay's announced rate the client uses.
const followShare = 0.95

// pacer is the client's token bucket and the pause a 429 asks for. The
// bucket's rate is the configured RateLimit, lowered to MassPay's own limit
// when its answers name one (X-RateLimit-Limit, RateLimit-Limit or
// RateLimit-Policy), so a client without a configured limit, or with one set
// too high, still stays under MassPay's and is not refused; a 429's
// Retry-After holds every request of the client, not only the refused one,
// until it has passed.
type pacer struct {
	own      float64 // configured requests/s; 0 = none
	ownBurst int     // configured burst; 0 = ceil(rate)

	mu     sync.Mutex
	lim    *rate.Limiter // nil: no limit known yet
	server float64       // MassPay's last announced requests/s; 0 = none
	until  time.Time     // no attempt starts before this (Retry-After)
}

func newPacer(own float64, burst int) *pacer {
	p := &pacer{own: own, ownBurst: burst}
	if own > 0 {
		p.lim = rate.NewLimiter(rate.Limit(own), p.burst(own))
	}
	return p
}

func (p *pacer) burst(r float64) int {
	b := max(1, int(math.Ceil(r)))
	if p.ownBurst > 0 && (p.own == r || p.ownBurst < b) {
		b = p.ownBurst
	}
	return b
}

// limiter returns the token bucket, nil when there is no limit.
func (p *pacer) limiter() *rate.Limiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lim
}

// pausedFor returns how long MassPay asked every request to wait from now.
func (p *pacer) pausedFor(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.until.Sub(now)
}

// pause holds every attempt until now+d (a 429's Retry-After).
func (p *pacer) pause(now time.Time, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t := now.Add(d); t.After(p.until) {
		p.until = t
	}
}

// follow adopts MassPay's announced limit of perSecond requests/s, unless
// the configured one is lower. remaining (negative when not announced) is
// what MassPay says is left of its budget: a bucket made now starts with no
// more than that, or its first burst would overrun MassPay's.
func (p *pacer) follow(perSecond float64, remaining int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if perSecond == p.server {
		return
	}
	p.server = perSecond
	// A hair under MassPay's rate: requests bunch up on the way (a
	// scheduler, the network), and a bucket run at exactly the server's
	// rate then meets an empty one there; each 429 costs its Retry-After
	// (a second or more) for every request.
	r := perSecond * followShare
	if p.own > 0 && p.own < r {
		r = p.own
	}
	now := time.Now()
	switch {
	case p.lim == nil:
		p.lim = rate.NewLimiter(rate.Limit(r), p.burst(r))
	case float64(p.lim.Limit()) != r:
		p.lim.SetBurstAt(now, p.burst(r))
		p.lim.SetLimitAt(now, rate.Limit(r))
	default:
		return
	}
	if extra := int(p.lim.TokensAt(now)) - remaining; remaining >= 0 && extra > 0 {
		p.lim.AllowN(now, extra)
	}
}

// Rate returns the requests per second the client allows itself now: the
// configured RateLimit or 95% of MassPay's announced limit, whichever is
// lower; 0 when neither is known.
func (c *Client) Rate() float64 {
	if l := c.pace.limiter(); l != nil {
		return float64(l.Limit())
	}
	return 0
}

// wait holds an attempt for a pause MassPay asked for and for the token
// bucket. A pause that ends by slept, when this request's own back-off
// (the Retry-After of its last attempt) ended, was waited out already.
func (c *Client) wait(ctx context.Context, slept time.Time) error {
	now := time.Now()
	if d := c.pace.pausedFor(now); d > 0 && now.Add(d).After(slept) {
		if err := c.sleep(ctx, d); err != nil {
			return err
		}
	}
	if l := c.pace.limiter(); l != nil {
		return l.Wait(ctx)
	}
	return nil
}

// learn reads what an answer says about MassPay's rate limit: the limit it
// announces, and a 429's Retry-After, which holds every request.
func (c *Client) learn(res attemptResult) {
	if res.header == nil {
		return
	}
	if r, ok := serverRate(res.header); ok {
		remaining := -1
		for _, name := range []string{"X-RateLimit-Remaining", "RateLimit-Remaining"} {
			if v, err := strconv.Atoi(strings.TrimSpace(res.header.Get(name))); err == nil && v >= 0 {
				remaining = v
				break
			}
		}
		c.pace.follow(r, remaining)
	}
	if res.status == http.StatusTooManyRequests && res.hasRetryAt && res.retryAfter > 0 {
		c.pace.pause(time.Now(), min(res.retryAfter, c.maxRetryAfter()))
	}
}

// serverRate reads MassPay's rate limit in requests per second from an
// answer's headers: RateLimit-Policy ("40;w=1", the IETF draft), else
// X-RateLimit-Limit or RateLimit-Limit ("40", or "40, 40;w=1"), read per
// second unless a window w= says otherwise. Remaining and Reset are not
// used to stop: under a token bucket a low remainder is the normal state of
// a busy client, not a reason to wait for a reset.
func serverRate(h http.Header) (float64, bool) {
	for _, name := range []string{"RateLimit-Policy", "X-RateLimit-Policy", "X-RateLimit-Limit", "RateLimit-Limit"} {
		if v := h.Get(name); v != "" {
			if r, ok := parseRateValue(v); ok {
				return r, true
			}
		}
	}
	return 0, false
}

// parseRateValue reads "Q", "Q;w=W" or a list of them (the first counts) as
// Q/W requests per second (W defaults to 1 second).
func parseRateValue(v string) (float64, bool) {
	first, _, _ := strings.Cut(v, ",")
	parts := strings.Split(first, ";")
	q, err := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
	if err != nil || q <= 0 || math.IsInf(q, 0) || math.IsNaN(q) {
		return 0, false
	}
	window := 1.0
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "w") {
			continue
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || w <= 0 || math.IsInf(w, 0) || math.IsNaN(w) {
			return 0, false
		}
		window = w
	}
	return q / window, true
}
