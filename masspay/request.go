package masspay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// maxResponseBytes bounds how much of an answer is read; PDF confirmations
// are the largest answers MassPay sends.
const maxResponseBytes = 32 << 20

// attemptResult is what one attempt learned.
type attemptResult struct {
	status     int
	header     http.Header
	body       []byte
	err        error // *APIError or *TransportError; nil on 2xx
	retryAfter time.Duration
	hasRetryAt bool
	latency    time.Duration
}

// do is the one request path every method goes through. It marshals in once
// (a json.RawMessage is sent as it is),
// so the body bytes and the Idempotency-Key are fixed for the logical call and
// re-sent unchanged on every retry; it waits for the rate limiter before every
// attempt; it retries only what shouldRetry allows; and it decodes a 2xx answer
// into out (when out is not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, idemKey string, in, out any) error {
	if ctx == nil {
		return fmt.Errorf("masspay: %s %s: nil context: %w", method, path, ErrInvalidRequest)
	}
	if strings.ContainsAny(idemKey, "\r\n\x00") {
		return fmt.Errorf("masspay: %s %s: idempotency key contains a control character: %w", method, path, ErrInvalidRequest)
	}
	var payload []byte
	switch v := in.(type) {
	case nil:
	case json.RawMessage:
		// Bytes encoded earlier (and recorded with their key) go out
		// exactly as they are: json.Marshal would re-compact and
		// re-escape them, and one changed byte under a key MassPay has
		// seen is refused as IDEMPOTENCY_KEY_REUSED.
		if !json.Valid(v) {
			return fmt.Errorf("masspay: %s %s: encoded request is not JSON: %w", method, path, ErrInvalidRequest)
		}
		payload = v
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("masspay: %s %s: encode request: %w", method, path, err)
		}
		payload = b
	}
	target := c.baseURL + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}

	// unknown remembers whether any attempt may have reached MassPay
	// without an answer: a later attempt that never connected does not make
	// that outcome known.
	var unknown bool
	var last error
	// slept is when this request's last back-off ended: a pause that
	// MassPay asked for (Retry-After) and that ends before it was already
	// waited out by this request's own back-off.
	var slept time.Time
	for attempt := 1; ; attempt++ {
		waitStart := time.Now()
		if err := c.wait(ctx, slept); err != nil {
			err = fmt.Errorf("masspay: %s %s: wait for rate limiter: %w", method, path, limiterErr(ctx, err))
			if last == nil {
				return err
			}
			return &RetryError{Attempts: attempt - 1, Reason: "rate limiter wait would outlast the context", Err: last,
				Ctx: limiterErr(ctx, err), unknown: unknown}
		}
		waited := time.Since(waitStart)
		res := c.attempt(ctx, method, target, path, idemKey, payload, attempt)
		c.learn(res)
		if c.observer != nil {
			c.observer(Attempt{Method: method, Path: path, Status: res.status, Waited: waited,
				Latency: res.latency, RetryAfter: res.retryAfter})
		}
		if res.err == nil {
			if out == nil || len(bytes.TrimSpace(res.body)) == 0 {
				return nil
			}
			if err := json.Unmarshal(res.body, out); err != nil {
				return fmt.Errorf("masspay: %s %s: decode answer: %w", method, path, err)
			}
			return nil
		}
		last = res.err
		unknown = unknown || IsUnknownOutcome(res.err)

		retry, reason := c.shouldRetry(ctx, method, idemKey, res, attempt)
		if !retry {
			c.log.Debug().Str("method", method).Str("path", path).Int("attempt", attempt).
				Str("reason", reason).Msg("masspay: not retrying")
			var te *TransportError
			switch {
			case reason == reasonBudget:
				return &RetryError{Attempts: attempt, Reason: reason, Err: res.err, exhausted: true, unknown: unknown}
			case attempt > 1 && ctx.Err() != nil:
				// The context ended mid-attempt after earlier failures: say
				// so, and keep what the earlier attempts left unknown.
				return &RetryError{Attempts: attempt, Reason: reason, Err: res.err, Ctx: ctx.Err(), unknown: unknown}
			case unknown && errors.As(res.err, &te) && !te.Sent:
				// This attempt never connected, but an earlier one may have
				// done the work: keep the outcome unknown.
				return &RetryError{Attempts: attempt, Reason: reason, Err: res.err, Ctx: ctx.Err(), unknown: true}
			case unknown:
				// A definite-looking answer (a 4xx) to a re-send whose first
				// attempt may have done the work can be MassPay refusing the
				// repeat of what it already did: still unknown.
				return &RetryError{Attempts: attempt, Reason: reason, Err: res.err, unknown: true}
			}
			return res.err
		}

		wait := c.backoff(attempt, res)
		if res.hasRetryAt && res.retryAfter > c.maxRetryAfter() {
			reason = fmt.Sprintf("Retry-After %s exceeds %s", res.retryAfter, c.maxRetryAfter())
			c.log.Warn().Str("method", method).Str("path", path).Int("attempt", attempt).Str("reason", reason).Msg("masspay: not retrying")
			return &RetryError{Attempts: attempt, Reason: reason, Err: res.err, exhausted: true, unknown: unknown}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			reason = "context deadline comes before the next attempt"
			c.log.Warn().Str("method", method).Str("path", path).Int("attempt", attempt).Str("reason", reason).Msg("masspay: not retrying")
			return &RetryError{Attempts: attempt, Reason: reason, Err: res.err, Ctx: context.DeadlineExceeded, unknown: unknown}
		}
		c.log.Warn().Str("method", method).Str("path", path).Int("attempt", attempt).
			Str("idempotency_key", idemKey).Str("reason", reason).Dur("backoff", wait).
			Str("error", c.redact(res.err.Error())).Msg("masspay: retrying")
		slept = time.Now().Add(wait)
		if err := c.sleep(ctx, wait); err != nil {
			return &RetryError{Attempts: attempt, Reason: "context ended while waiting to retry", Err: res.err,
				Ctx: ctxErrOr(ctx, err), unknown: unknown}
		}
	}
}

// limiterErr maps a rate limiter refusal to the context error it stands
// for: rate.Limiter.Wait refuses early, before the deadline, when the
// deadline would pass while waiting for a token.
func limiterErr(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	if _, ok := ctx.Deadline(); ok {
		return context.DeadlineExceeded
	}
	return err
}

// reasonBudget is the reason shouldRetry gives when only the retry budget
// stops a retry.
const reasonBudget = "retry budget exhausted"

// shouldRetry decides whether a failed attempt is sent again and says why;
// the reason is logged. Safe means GET/HEAD, or any method carrying an
// Idempotency-Key (MassPay replays the first answer for a key it has seen).
// A mutating request without a key is retried only when the connection was
// never made, so not one byte of it can have reached MassPay.
func (c *Client) shouldRetry(ctx context.Context, method, idemKey string, res attemptResult, attempt int) (bool, string) {
	if ctx.Err() != nil {
		return false, "context ended: " + ctx.Err().Error()
	}
	safe := idemKey != "" || method == http.MethodGet || method == http.MethodHead
	var why string
	var te *TransportError
	switch {
	case errors.As(res.err, &te):
		switch {
		case !te.Sent:
			why = "connection failed before the request was sent"
		case !safe:
			return false, method + " without Idempotency-Key may have reached the server"
		case te.Timeout:
			why = "attempt timed out"
		default:
			why = "transport error after sending; same Idempotency-Key makes a re-send safe"
		}
	case isTemporaryAnswer(res.err):
		if !safe {
			return false, fmt.Sprintf("HTTP %d to %s without Idempotency-Key: the request reached the server", res.status, method)
		}
		why = fmt.Sprintf("HTTP %d is retryable", res.status)
		if errors.Is(res.err, ErrIdempotencyKeyInUse) {
			why = "Idempotency-Key still in use by a request in flight"
		}
		if res.hasRetryAt {
			why += fmt.Sprintf(" (Retry-After %s)", res.retryAfter)
		}
	default:
		return false, fmt.Sprintf("HTTP %d is a definite answer", res.status)
	}
	if attempt > c.maxRetries {
		return false, reasonBudget
	}
	return true, why
}

// isTemporaryAnswer reports whether err is an HTTP answer that its own type
// declares retryable.
func isTemporaryAnswer(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Temporary()
}

// backoff returns how long to wait before attempt+1: the server's
// Retry-After when it sent one, otherwise exponential backoff with full
// jitter (a uniform draw from [0, min(max, min*2^(attempt-1))]), so that
// many workers bouncing off the same failure do not come back in lockstep.
func (c *Client) backoff(attempt int, res attemptResult) time.Duration {
	if res.hasRetryAt {
		return res.retryAfter
	}
	ceil := c.minBackoff
	for i := 1; i < attempt && ceil < c.maxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, c.maxBackoff)
	return jitter(ceil)
}

// maxRetryAfter is the longest Retry-After the client waits out by itself;
// a longer one is handed back to the caller.
func (c *Client) maxRetryAfter() time.Duration { return max(c.maxBackoff, time.Minute) }

// attempt sends the request once and reads the whole answer.
func (c *Client) attempt(ctx context.Context, method, target, path, idemKey string, payload []byte, n int) attemptResult {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	var gotConn bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn = true }}
	actx = httptrace.WithClientTrace(actx, trace)

	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, target, body)
	if err != nil {
		return attemptResult{err: &TransportError{Method: method, Path: path, Err: err, msg: c.redact(err.Error())}}
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}

	start := time.Now()
	resp, err := c.hc.Do(req)
	var res attemptResult
	if err == nil {
		res.status, res.header = resp.StatusCode, resp.Header
		res.body, err = io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		resp.Body.Close()
	}
	latency := time.Since(start)
	if err != nil {
		// A body cut off mid-read is as unknown as no answer at all.
		var ne net.Error
		timeout := ctx.Err() == nil && (actx.Err() == context.DeadlineExceeded || (errors.As(err, &ne) && ne.Timeout()))
		sent := gotConn || !isDialError(err)
		res = attemptResult{err: &TransportError{Method: method, Path: path, Sent: sent, Timeout: timeout, Err: err, msg: c.redact(err.Error())}}
	} else if res.status < 200 || res.status > 299 {
		res.err = newAPIError(method, path, res.status, res.header, res.body, c.redact)
		res.retryAfter, res.hasRetryAt = parseRetryAfter(res.header.Get("Retry-After"), time.Now())
	}
	if c.debug {
		ev := c.log.Debug().Str("method", method).Str("path", path).Int("attempt", n).
			Int("status", res.status).Dur("latency", latency).Str("idempotency_key", idemKey).
			Dict("headers", zerologHeaders(req.Header))
		if res.err != nil {
			ev = ev.Str("error", c.redact(res.err.Error()))
		}
		ev.Msg("masspay: request")
	}
	res.latency = latency
	return res
}

// isDialError reports whether err happened while opening the connection,
// before any byte of the request was written.
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs < 0 {
			return 0, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func ctxErrOr(ctx context.Context, err error) error {
	if e := ctx.Err(); e != nil {
		return e
	}
	return err
}

// jitter draws uniformly from [0, ceil].
func jitter(ceil time.Duration) time.Duration {
	if ceil <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// zerologHeaders renders request headers for the debug log with the
// Authorization value redacted: the key must never reach a log line.
func zerologHeaders(h http.Header) *zerolog.Event {
	d := zerolog.Dict()
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if strings.EqualFold(k, "Authorization") {
			v = "Bearer " + redacted
		}
		d = d.Str(k, v)
	}
	return d
}

// redact removes the API key from s.
func (c *Client) redact(s string) string { return redactor(c.apiKey)(s) }
