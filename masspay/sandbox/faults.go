package sandbox

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// roll draws from the seeded fault generator and reports whether the share
// chosen by pick hits.
func (s *Sandbox) roll(pick func(Faults) float64) bool {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	p := pick(s.faults)
	if p <= 0 {
		return false
	}
	return s.faultRng.Float64() < p
}

// injectFaults applies rate limit, latency and the 5xx fault to an API
// request. It reports false when it already answered.
func (s *Sandbox) injectFaults(w http.ResponseWriter, r *http.Request) (int, bool) {
	wait, ok, limit, remaining := s.limiter.allow()
	s.faultMu.Lock()
	quiet := s.faults.RateLimitQuiet
	s.faultMu.Unlock()
	if limit > 0 && !quiet {
		// Like MassPay behind a common API gateway: every answer says the
		// budget (requests per second) and what is left of it, so a client
		// can pace itself before it is refused.
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.FormatFloat(limit, 'f', -1, 64))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Reset", "1")
	}
	if !ok {
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{
			"code": "429", "message": "Too many requests", "details": "rate limit exceeded; retry after " + strconv.Itoa(secs) + "s",
			"timestamp": time.Now().UTC().Format(time.RFC3339),
		})
		return http.StatusTooManyRequests, false
	}
	s.faultMu.Lock()
	f := s.faults
	delay := f.Latency
	if f.LatencyJitter > 0 {
		delay += time.Duration(s.faultRng.Int64N(int64(f.LatencyJitter) + 1))
	}
	fail := f.ErrorRate > 0 && s.faultRng.Float64() < f.ErrorRate
	code := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout}[s.faultRng.IntN(3)]
	s.faultMu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return 0, false
		}
	}
	if fail {
		writeJSON(w, code, errorBody{Title: http.StatusText(code), Message: "sandbox fault: nothing was done", Code: code,
			Error: &errorDetail{Reason: "sandbox_fault", Details: []string{}}})
		return code, false
	}
	return 0, true
}

// limiter is a token bucket that can be retuned or switched off.
type limiter struct {
	mu sync.Mutex
	l  *rate.Limiter
}

func newLimiter() *limiter { return &limiter{} }

func (l *limiter) set(perSecond float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if perSecond <= 0 {
		l.l = nil
		return
	}
	burst := int(math.Ceil(perSecond))
	if l.l != nil && l.l.Limit() == rate.Limit(perSecond) {
		return
	}
	l.l = rate.NewLimiter(rate.Limit(perSecond), burst)
}

// allow takes a token, or reports how long until one is available. It
// also returns the limit in requests per second (0 when off) and the whole
// tokens left after this request, for the rate-limit headers.
func (l *limiter) allow() (wait time.Duration, ok bool, limit float64, remaining int) {
	l.mu.Lock()
	lim := l.l
	l.mu.Unlock()
	if lim == nil {
		return 0, true, 0, 0
	}
	now := time.Now()
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false, float64(lim.Limit()), 0
	}
	return 0, true, float64(lim.Limit()), max(0, int(lim.TokensAt(now)))
}
