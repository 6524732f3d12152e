package sandbox

import (
	"errors"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"
)

// Errors returned by the sandbox's Go API.
var (
	// ErrNoAPIKey is returned by New when Config.APIKey is empty.
	ErrNoAPIKey = errors.New("api key required")
	// ErrNotFound is returned for an unknown user or other token.
	ErrNotFound = errors.New("not found")
	// ErrClockNotManual is returned when the clock cannot be advanced
	// because the sandbox runs on real time.
	ErrClockNotManual = errors.New("clock is not manual")
)

// DefaultAPIKey is the key `payrun sandbox` and `--sandbox` runs accept unless
// told otherwise. It is a sandbox-only default; real keys have none.
const DefaultAPIKey = "sandbox-key"

// DefaultIdempotencyRetention is how long an Idempotency-Key is remembered.
const DefaultIdempotencyRetention = 24 * time.Hour

// Faults are the transport and delivery failures the sandbox injects. The
// zero value injects nothing. Random choices come from Config.Seed, so a run
// with the same seed and the same request order fails the same way.
type Faults struct {
	// Latency delays every API answer; LatencyJitter adds up to that much
	// more, uniformly.
	Latency       time.Duration `json:"latency"`
	LatencyJitter time.Duration `json:"latency_jitter"`
	// ErrorRate is the share of requests answered 500, 502 or 504 without
	// doing anything.
	ErrorRate float64 `json:"error_rate"`
	// LostResponseRate is the share of requests processed fully whose
	// connection is then dropped before any answer: the nastiest case for a
	// payout client, which cannot know whether the payout exists.
	LostResponseRate float64 `json:"lost_response_rate"`
	// RateLimit is the number of requests per second allowed; above it the
	// answer is 429 with Retry-After. 0 turns the limit off.
	RateLimit float64 `json:"rate_limit"`
	// RateLimitQuiet leaves the X-RateLimit-* headers out of the answers,
	// like a MassPay that only says 429 and Retry-After once over the limit.
	RateLimitQuiet bool `json:"rate_limit_quiet"`
	// WebhookDuplicateRate is the share of webhook deliveries sent twice.
	WebhookDuplicateRate float64 `json:"webhook_duplicate_rate"`
	// WebhookReorder delivers webhook events out of order by holding some
	// back and sending them after later ones.
	WebhookReorder bool `json:"webhook_reorder"`
}

// Config configures a Sandbox.
type Config struct {
	// APIKey is the only key accepted (required).
	APIKey string
	// Balances are the account's starting balances per currency; nil means
	// the defaults (USD 1000000, EUR 250000, BTC 10, ETH 200, USDT 500000).
	Balances map[string]decimal.Decimal
	// Clock is the sandbox's time; nil means real time.
	Clock Clock
	// Seed makes faults and generated tokens reproducible.
	Seed int64
	// Faults are the failures to inject from the start; see SetFaults.
	Faults Faults
	// WebhookURL, when set, receives a signed POST on every payout and load
	// status change; WebhookSecret keys the signature.
	WebhookURL    string
	WebhookSecret string
	// IdempotencyRetention is how long an Idempotency-Key and its answer are
	// kept; 0 means DefaultIdempotencyRetention.
	IdempotencyRetention time.Duration
	// StateFile, when set, makes the sandbox's state survive a restart or
	// a crash: New loads it from this file when it exists (Balances is then
	// ignored) and creates it otherwise, and every request that changed
	// something is saved before its answer is written, together with its
	// idempotency record: as a line of the append-only journal
	// StateFile+".journal", fsync'd per group commit, which is folded into
	// a new StateFile (temp file, fsync, rename) when it grows. A
	// manual clock behind the saved sandbox time is moved up to it. Pending
	// webhook deliveries are not saved. Empty means memory only.
	StateFile string
	// Logger receives one line per request and webhook delivery; nil is
	// silent. The API key is never logged.
	Logger *zerolog.Logger
	// NoBestRoute switches GET /country/{cc}/best off: it answers 404 "no
	// such path", as for any unknown path. MassPay's guides use /best, but
	// its SDK 2.0.0 defines only /country/{cc} and /cheapest, so a client
	// must cope with a MassPay that lacks /best; this is how to test that.
	NoBestRoute bool
}

// DefaultBalances returns the starting balances of the sandbox catalog.
func DefaultBalances() map[string]decimal.Decimal {
	return map[string]decimal.Decimal{
		"USD":  decimal.NewFromInt(1000000),
		"EUR":  decimal.NewFromInt(250000),
		"BTC":  decimal.NewFromInt(10),
		"ETH":  decimal.NewFromInt(200),
		"USDT": decimal.NewFromInt(500000),
	}
}
