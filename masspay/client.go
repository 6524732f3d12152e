package masspay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Base URLs of MassPay's payout API. Paths of every method are relative to
// them, so a sandbox base such as "http://127.0.0.1:PORT/v1.0.0/payout" works
// the same way.
const (
	ProductionURL = "https://api.masspay.io/v1.0.0/payout"
	StagingURL    = "https://staging-api.masspay.io/v1.0.0/payout"
)

// Version is the payrun version sent in the User-Agent header. Release
// builds set it with -ldflags "-X github.com/payrun/payrun/masspay.Version=v1.2.3".
var Version = "dev"

// Defaults applied by New to zero Config fields.
const (
	DefaultTimeout         = 30 * time.Second
	DefaultMaxRetries      = 3
	DefaultMinRetryBackoff = 500 * time.Millisecond
	DefaultMaxRetryBackoff = 20 * time.Second
)

// Config configures a Client. Zero values take the defaults documented on
// each field; only BaseURL and APIKey are required.
type Config struct {
	// BaseURL is the API root without trailing slash, e.g. ProductionURL.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>". It never appears in
	// a log line or an error string.
	APIKey string
	// HTTPClient does the transport; nil means a fresh client with Go's
	// default transport. Its own Timeout, if any, still applies.
	HTTPClient *http.Client
	// Timeout bounds each attempt (not the whole call, which the context
	// bounds). Zero means DefaultTimeout.
	Timeout time.Duration
	// MaxRetries is the number of retries after the first attempt. Zero
	// means DefaultMaxRetries; a negative value disables retries.
	MaxRetries int
	// RateLimit is the sustained request rate in requests per second that
	// the client allows itself, so a big run stays under MassPay's limits
	// instead of bouncing off 429s. Zero sets no limit of the client's own.
	// Either way the client lowers its rate to the limit MassPay's answers
	// announce (X-RateLimit-Limit, RateLimit-Limit, RateLimit-Policy), and a
	// 429's Retry-After holds all its requests, not only the refused one.
	RateLimit float64
	// RateBurst is the number of requests allowed at once above RateLimit.
	// Zero means max(1, ceil(RateLimit)).
	RateBurst int
	// UserAgent overrides the User-Agent header; empty means "payrun/<Version>".
	UserAgent string
	// Logger receives retry decisions and, in Debug mode, one line per
	// attempt. Nil means no logging.
	Logger *zerolog.Logger
	// Debug logs every attempt's method, path, status, latency and attempt
	// number at debug level.
	Debug bool
	// MinRetryBackoff and MaxRetryBackoff bound the exponential backoff with
	// full jitter between attempts. Zero means the Default values.
	MinRetryBackoff, MaxRetryBackoff time.Duration
	// Observer, when set, is called after every attempt (from the calling
	// goroutine, so it must be quick): a concurrency controller reads
	// MassPay's latency and 429s from it.
	Observer func(Attempt)
}

// Option adjusts a Config in the NewProduction and NewStaging constructors.
type Option func(*Config)

// WithHTTPClient sets Config.HTTPClient.
func WithHTTPClient(hc *http.Client) Option { return func(c *Config) { c.HTTPClient = hc } }

// WithTimeout sets Config.Timeout, the bound of each attempt.
func WithTimeout(d time.Duration) Option { return func(c *Config) { c.Timeout = d } }

// WithMaxRetries sets Config.MaxRetries.
func WithMaxRetries(n int) Option { return func(c *Config) { c.MaxRetries = n } }

// WithRateLimit sets Config.RateLimit and Config.RateBurst.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *Config) { c.RateLimit, c.RateBurst = perSecond, burst }
}

// WithLogger sets Config.Logger and Config.Debug.
func WithLogger(l *zerolog.Logger, debug bool) Option {
	return func(c *Config) { c.Logger, c.Debug = l, debug }
}

// WithUserAgent sets Config.UserAgent.
func WithUserAgent(ua string) Option { return func(c *Config) { c.UserAgent = ua } }

// WithRetryBackoff sets Config.MinRetryBackoff and Config.MaxRetryBackoff.
func WithRetryBackoff(minBackoff, maxBackoff time.Duration) Option {
	return func(c *Config) { c.MinRetryBackoff, c.MaxRetryBackoff = minBackoff, maxBackoff }
}

// Client calls the MassPay payout API. It is safe for concurrent use. Every
// method goes through one request path that authenticates, rate-limits,
// retries where that is safe and turns answers into typed errors.
type Client struct {
	baseURL    string
	apiKey     string
	hc         *http.Client
	timeout    time.Duration
	maxRetries int
	pace       *pacer
	observer   func(Attempt)
	userAgent  string
	log        zerolog.Logger
	debug      bool
	minBackoff time.Duration
	maxBackoff time.Duration

	// sleep waits between attempts; tests replace it to observe backoffs
	// without timing anything.
	sleep func(ctx context.Context, d time.Duration) error

	// routeMissing[i] is set once routeOrder[i] answered 404 or 405 while a
	// later one answered: that MassPay lacks it, so PreferredRoutes skips it
	// for the rest of the client's life.
	routeMissing [len(routeOrder) - 1]atomic.Bool
}

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("invalid masspay config")

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		return nil, fmt.Errorf("new client: base URL missing: %w", ErrConfig)
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("new client: base URL %q is not an http(s) URL: %w", base, ErrConfig)
	}
	if u.User != nil {
		return nil, fmt.Errorf("new client: base URL must not carry credentials: %w", ErrConfig)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("new client: base URL %q is plain http to a host that is not this machine; the API key would cross the network in clear: use https://: %w", base, ErrConfig)
	}
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("new client: API key missing: %w", ErrConfig)
	}
	if strings.ContainsAny(cfg.APIKey, "\r\n") {
		return nil, fmt.Errorf("new client: API key contains a line break: %w", ErrConfig)
	}
	if cfg.RateLimit < 0 || math.IsNaN(cfg.RateLimit) || math.IsInf(cfg.RateLimit, 0) {
		return nil, fmt.Errorf("new client: rate limit must be a finite number >= 0: %w", ErrConfig)
	}
	c := &Client{
		baseURL:    base,
		apiKey:     cfg.APIKey,
		hc:         cfg.HTTPClient,
		timeout:    cfg.Timeout,
		maxRetries: cfg.MaxRetries,
		userAgent:  cfg.UserAgent,
		log:        zerolog.Nop(),
		debug:      cfg.Debug,
		minBackoff: cfg.MinRetryBackoff,
		maxBackoff: cfg.MaxRetryBackoff,
		sleep:      sleepCtx,
		pace:       newPacer(cfg.RateLimit, cfg.RateBurst),
		observer:   cfg.Observer,
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.userAgent == "" {
		c.userAgent = "payrun/" + Version
	}
	if cfg.Logger != nil {
		c.log = cfg.Logger.With().Str("component", "masspay").Logger()
		if c.debug {
			// Debug asks for the per-attempt lines, which are logged at
			// debug level: let them through this logger's own level.
			c.log = c.log.Level(zerolog.DebugLevel)
		}
	}
	if c.minBackoff <= 0 {
		c.minBackoff = DefaultMinRetryBackoff
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = DefaultMaxRetryBackoff
	}
	if c.maxBackoff < c.minBackoff {
		c.maxBackoff = c.minBackoff
	}
	return c, nil
}

// NewProduction returns a Client for MassPay production.
func NewProduction(apiKey string, opts ...Option) (*Client, error) {
	return newWith(ProductionURL, apiKey, opts)
}

// NewStaging returns a Client for MassPay staging.
func NewStaging(apiKey string, opts ...Option) (*Client, error) {
	return newWith(StagingURL, apiKey, opts)
}

// NewWithBaseURL returns a Client for any base URL, such as the embedded
// sandbox's.
func NewWithBaseURL(baseURL, apiKey string, opts ...Option) (*Client, error) {
	return newWith(baseURL, apiKey, opts)
}

func newWith(base, key string, opts []Option) (*Client, error) {
	cfg := Config{BaseURL: base, APIKey: key}
	for _, o := range opts {
		o(&cfg)
	}
	return New(cfg)
}

// BaseURL returns the API root the client talks to.
func (c *Client) BaseURL() string { return c.baseURL }

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP address (127.0.0.0/8, ::1). Only there may the API key go
// over plain http (the embedded sandbox, a local TLS-terminating proxy).
// A name is not resolved: "localhost.example" is someone else's host.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
