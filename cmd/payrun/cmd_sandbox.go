package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrun/payrun/masspay/sandbox"
	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"
)

// SandboxCommand runs the embedded MassPay sandbox on a local port until the
// context is cancelled (Ctrl-C).
type SandboxCommand struct{}

// balanceFlags collects repeatable --balance CUR=AMOUNT flags.
type balanceFlags map[string]decimal.Decimal

func (b balanceFlags) String() string {
	var parts []string
	for c, a := range b {
		parts = append(parts, c+"="+a.String())
	}
	return strings.Join(parts, ",")
}

func (b balanceFlags) Set(v string) error {
	cur, amt, ok := strings.Cut(v, "=")
	if !ok || cur == "" {
		return errors.New("want CURRENCY=AMOUNT, e.g. USD=1000000")
	}
	d, err := decimal.NewFromString(strings.TrimSpace(amt))
	if err != nil || d.IsNegative() {
		return fmt.Errorf("amount %q is not a non-negative number", amt)
	}
	b[strings.ToUpper(strings.TrimSpace(cur))] = d
	return nil
}

// Run parses the flags, starts the sandbox, prints where it listens and the
// key it accepts, and serves until ctx is done.
func (c *SandboxCommand) Run(ctx context.Context, m *Main, args []string) error {
	const hint = "payrun sandbox --listen 127.0.0.1:8080 --api-key sandbox-key"
	fs := m.newFlagSet("sandbox", "[flags]")
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	apiKey := fs.String("api-key", sandbox.DefaultAPIKey, "the API key the sandbox accepts")
	seed := fs.Int64("seed", 1, "seed for reproducible faults and tokens")
	latency := fs.Duration("latency", 0, "delay every answer by this much")
	jitter := fs.Duration("latency-jitter", 0, "add up to this much random delay")
	errRate := fs.Float64("error-rate", 0, "share of requests answered 500/502/504 without doing anything (0..1)")
	lostRate := fs.Float64("lost-response-rate", 0, "share of requests processed, then the connection dropped without an answer (0..1)")
	rateLimit := fs.Float64("rate-limit", 0, "requests per second allowed; above it 429 with Retry-After (0 = off); answers announce it in X-RateLimit-* headers")
	rateQuiet := fs.Bool("rate-limit-quiet", false, "with --rate-limit: no X-RateLimit-* headers, only 429 and Retry-After")
	hookURL := fs.String("webhook-url", "", "deliver signed status callbacks to this URL")
	hookSecret := fs.String("webhook-secret", "", "secret for the X-MassPay-Signature HMAC")
	dupRate := fs.Float64("webhook-duplicate-rate", 0, "share of webhook deliveries sent twice (0..1)")
	reorder := fs.Bool("webhook-reorder", false, "deliver webhook events out of order")
	manual := fs.Bool("manual-clock", false, "time moves only via POST /_sandbox/clock/advance?by=3m")
	verbose := fs.Bool("verbose", false, "log every request to stderr")
	noBest := fs.Bool("no-best-route", false, "answer GET /country/{cc}/best with 404, like a MassPay without it (SDK 2.0.0 has only /country/{cc} and /cheapest)")
	state := fs.String("state", "", "keep the sandbox's state in this JSON file and its append-only journal FILE.journal across restarts and crashes (created when missing; --balance then only applies to a new file)")
	balances := balanceFlags{}
	fs.Var(balances, "balance", "starting balance CURRENCY=AMOUNT (repeatable; default USD=1000000 EUR=250000 BTC=10 ETH=200 USDT=500000)")
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: hint}
	}
	for name, v := range map[string]float64{"error-rate": *errRate, "lost-response-rate": *lostRate, "webhook-duplicate-rate": *dupRate} {
		if v < 0 || v > 1 {
			return &UsageError{Err: fmt.Errorf("--%s must be between 0 and 1", name), Hint: hint}
		}
	}
	if *rateLimit < 0 || *latency < 0 || *jitter < 0 {
		return &UsageError{Err: errors.New("--rate-limit, --latency and --latency-jitter must not be negative"), Hint: hint}
	}
	if *apiKey == "" {
		return &UsageError{Err: errors.New("--api-key must not be empty"), Hint: hint}
	}
	cfg := sandbox.Config{
		APIKey: *apiKey, Seed: *seed, WebhookURL: *hookURL, WebhookSecret: *hookSecret, StateFile: *state, NoBestRoute: *noBest,
		Faults: sandbox.Faults{Latency: *latency, LatencyJitter: *jitter, ErrorRate: *errRate, LostResponseRate: *lostRate,
			RateLimit: *rateLimit, RateLimitQuiet: *rateQuiet, WebhookDuplicateRate: *dupRate, WebhookReorder: *reorder},
	}
	if len(balances) > 0 {
		cfg.Balances = balances
	}
	if *manual {
		cfg.Clock = sandbox.NewManualClock(time.Now().UTC().Truncate(time.Second))
	}
	if *verbose {
		l := zerolog.New(zerolog.ConsoleWriter{Out: m.Stderr}).Level(zerolog.DebugLevel).With().Timestamp().Logger()
		cfg.Logger = &l
	}
	srv, err := sandbox.Listen(*listen, cfg)
	if err != nil {
		return &ExitError{Code: ExitUsage, Err: fmt.Errorf("start sandbox: %w", err)}
	}
	fmt.Fprintf(m.Stdout, "MassPay sandbox listening on %s\n", srv.URL())
	fmt.Fprintf(m.Stdout, "  payrun:       MASSPAY_BASE_URL=%s\n", srv.URL())
	fmt.Fprintf(m.Stdout, "  official SDK: base path %s\n", srv.SDKURL())
	fmt.Fprintf(m.Stdout, "  API key:      %s (Authorization: Bearer %s)\n", *apiKey, *apiKey)
	fmt.Fprintf(m.Stdout, "  audit:        GET http://%s/_sandbox/audit\n", srv.Addr())
	if *manual {
		fmt.Fprintf(m.Stdout, "  clock:        manual; POST http://%s/_sandbox/clock/advance?by=3m\n", srv.Addr())
	}
	if *state != "" {
		fmt.Fprintf(m.Stdout, "  state:        %s\n", *state)
	}
	if *noBest {
		fmt.Fprintf(m.Stdout, "  routes:       /country/{cc}/best is off (404); /cheapest and /country/{cc} answer\n")
	}
	fmt.Fprintln(m.Stdout, "Press Ctrl-C to stop.")
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		return fmt.Errorf("stop sandbox: %w", err)
	}
	fmt.Fprintln(m.Stdout, "sandbox stopped")
	return nil
}
