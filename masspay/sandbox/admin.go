package sandbox

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// serveAdmin serves the sandbox-only endpoints under /_sandbox/. They are
// exempt from faults, so a test can always steer the sandbox.
func (s *Sandbox) serveAdmin(w http.ResponseWriter, r *http.Request, seg []string) int {
	status, v, e := s.admin(r, seg)
	if e != nil {
		writeError(w, e)
		return e.Status
	}
	s.hooks.kick()
	if err := s.sync(); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(stateNotSaved.status)
		w.Write(stateNotSaved.body)
		return stateNotSaved.status
	}
	writeJSON(w, status, v)
	return status
}

func methodNotAllowed(allow string) *apiError {
	return &apiError{Status: http.StatusMethodNotAllowed, Title: "Method Not Allowed",
		Message: "allowed: " + allow, Code: "METHOD_NOT_ALLOWED", Allow: allow}
}

func (s *Sandbox) admin(r *http.Request, seg []string) (int, any, *apiError) {
	path := strings.Join(seg, "/")
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return 0, nil, badField("body", "invalid_body", "request body could not be read")
	}
	switch {
	case path == "audit":
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed("GET")
		}
		return http.StatusOK, s.Audit(), nil
	case path == "clock/advance":
		if r.Method != http.MethodPost {
			return 0, nil, methodNotAllowed("POST")
		}
		d, err := time.ParseDuration(r.URL.Query().Get("by"))
		if err != nil || d < 0 {
			return 0, nil, badField("by", "invalid_duration", "by must be a non-negative duration such as 3m")
		}
		if _, ok := s.clock.(*ManualClock); !ok {
			return 0, nil, &apiError{Status: http.StatusConflict, Title: "Conflict", Code: "CLOCK_NOT_MANUAL",
				Message: "the sandbox runs on real time; start it with a manual clock (--manual-clock)"}
		}
		s.Advance(d)
		return http.StatusOK, map[string]string{"now": stamp(s.Now())}, nil
	case path == "clock":
		if r.Method != http.MethodGet {
			return 0, nil, methodNotAllowed("GET")
		}
		return http.StatusOK, map[string]string{"now": stamp(s.Now())}, nil
	case path == "faults":
		switch r.Method {
		case http.MethodGet:
			return http.StatusOK, faultsWire(s.Faults()), nil
		case http.MethodPost:
			f, e := parseFaults(body, s.Faults())
			if e != nil {
				return 0, nil, e
			}
			s.SetFaults(f)
			return http.StatusOK, faultsWire(f), nil
		}
		return 0, nil, methodNotAllowed("GET, POST")
	case path == "balance/adjust":
		if r.Method != http.MethodPost {
			return 0, nil, methodNotAllowed("POST")
		}
		var in struct {
			CurrencyCode string          `json:"currency_code"`
			Amount       decimal.Decimal `json:"amount"`
		}
		if e := decodeBody(body, &in); e != nil {
			return 0, nil, e
		}
		cur := strings.ToUpper(in.CurrencyCode)
		if _, ok := currencies[cur]; !ok {
			return 0, nil, badField("currency_code", "invalid_currency", "currency_code %q is not supported", in.CurrencyCode)
		}
		if in.Amount.Exponent() < -18 || in.Amount.Abs().GreaterThan(maxAmount) {
			return 0, nil, badField("amount", "invalid_amount", "amount is out of range")
		}
		s.AdjustBalance(cur, in.Amount)
		return http.StatusOK, s.Audit().Balances, nil
	case path == "requests":
		switch r.Method {
		case http.MethodGet:
			return http.StatusOK, s.Requests(), nil
		case http.MethodDelete:
			return http.StatusOK, s.ResetRequests(), nil
		}
		return 0, nil, methodNotAllowed("GET, DELETE")
	case len(seg) == 4 && seg[0] == "users" && seg[2] == "attributes" && seg[3] == "revoke":
		if r.Method != http.MethodPost {
			return 0, nil, methodNotAllowed("POST")
		}
		n, err := s.RevokeAttributes(seg[1])
		if err != nil {
			return 0, nil, notFound("user %s not found", seg[1])
		}
		return http.StatusOK, map[string]any{"user_token": seg[1], "revoked_attr_sets": n}, nil
	case len(seg) == 3 && seg[0] == "users" && (seg[2] == "hold" || seg[2] == "release"):
		if r.Method != http.MethodPost {
			return 0, nil, methodNotAllowed("POST")
		}
		if seg[2] == "release" {
			if err := s.ReleaseUser(seg[1]); err != nil {
				return 0, nil, notFound("user %s not found", seg[1])
			}
			return http.StatusOK, map[string]string{"user_token": seg[1], "status": "ACTIVE"}, nil
		}
		link, err := s.HoldUser(seg[1])
		if errors.Is(err, ErrNotFound) {
			return 0, nil, notFound("user %s not found", seg[1])
		}
		return http.StatusOK, map[string]string{"user_token": seg[1], "status": "LOCKED", "upload_link": link}, nil
	}
	return 0, nil, notFound("no such path /_sandbox/%s", path)
}

// faultsJSON is the wire form of Faults: durations as Go duration strings
// ("50ms") or as numbers of milliseconds.
type faultsJSON struct {
	Latency              any     `json:"latency"`
	LatencyJitter        any     `json:"latency_jitter"`
	ErrorRate            float64 `json:"error_rate"`
	LostResponseRate     float64 `json:"lost_response_rate"`
	RateLimit            float64 `json:"rate_limit"`
	RateLimitQuiet       bool    `json:"rate_limit_quiet"`
	WebhookDuplicateRate float64 `json:"webhook_duplicate_rate"`
	WebhookReorder       bool    `json:"webhook_reorder"`
}

func faultsWire(f Faults) faultsJSON {
	return faultsJSON{Latency: f.Latency.String(), LatencyJitter: f.LatencyJitter.String(), ErrorRate: f.ErrorRate,
		LostResponseRate: f.LostResponseRate, RateLimit: f.RateLimit, RateLimitQuiet: f.RateLimitQuiet, WebhookDuplicateRate: f.WebhookDuplicateRate,
		WebhookReorder: f.WebhookReorder}
}

// parseFaults applies a JSON fault settings object onto cur: fields left out
// keep their value.
func parseFaults(body []byte, cur Faults) (Faults, *apiError) {
	var raw map[string]json.RawMessage
	if e := decodeBody(body, &raw); e != nil {
		return cur, e
	}
	f := cur
	dur := func(name string, dst *time.Duration) *apiError {
		v, ok := raw[name]
		if !ok {
			return nil
		}
		var str string
		if json.Unmarshal(v, &str) == nil {
			d, err := time.ParseDuration(str)
			if err != nil || d < 0 {
				return badField(name, "invalid_duration", "%s must be a duration such as 50ms", name)
			}
			*dst = d
			return nil
		}
		var ms float64
		if json.Unmarshal(v, &ms) != nil || ms < 0 || ms > 3.6e6 {
			return badField(name, "invalid_duration", "%s must be a duration such as \"50ms\" or a number of milliseconds", name)
		}
		*dst = time.Duration(ms * float64(time.Millisecond))
		return nil
	}
	rate := func(name string, dst *float64, max float64) *apiError {
		v, ok := raw[name]
		if !ok {
			return nil
		}
		var x float64
		if json.Unmarshal(v, &x) != nil || x < 0 || x > max {
			return badField(name, "invalid_rate", "%s must be a number between 0 and %g", name, max)
		}
		*dst = x
		return nil
	}
	for _, e := range []*apiError{
		dur("latency", &f.Latency), dur("latency_jitter", &f.LatencyJitter),
		rate("error_rate", &f.ErrorRate, 1), rate("lost_response_rate", &f.LostResponseRate, 1),
		rate("rate_limit", &f.RateLimit, 1e9), rate("webhook_duplicate_rate", &f.WebhookDuplicateRate, 1),
	} {
		if e != nil {
			return cur, e
		}
	}
	if v, ok := raw["rate_limit_quiet"]; ok {
		if json.Unmarshal(v, &f.RateLimitQuiet) != nil {
			return cur, badField("rate_limit_quiet", "invalid_type", "rate_limit_quiet must be true or false")
		}
	}
	if v, ok := raw["webhook_reorder"]; ok {
		if json.Unmarshal(v, &f.WebhookReorder) != nil {
			return cur, badField("webhook_reorder", "invalid_type", "webhook_reorder must be true or false")
		}
	}
	return f, nil
}
