package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// Environment names, as recorded in runs and shown in results.
const (
	EnvProduction = "production"
	EnvStaging    = "staging"
	EnvSandbox    = "sandbox"
	EnvCustom     = "custom"
)

// sandboxKey is the API key of the embedded sandbox; it opens nothing else.
const sandboxKey = sandbox.DefaultAPIKey

// apiFlags are the flags of every command that talks to MassPay.
type apiFlags struct {
	sandbox      bool
	sandboxState string
	baseURL      string
	env          string
	keyFile      string
	rateLimit    rateFlag
	debug        bool
	// observe, set by the caller (not a flag), sees every attempt of the
	// client: the run's concurrency window learns from it.
	observe func(masspay.Attempt)
}

func (f *apiFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.sandbox, "sandbox", false, "run against the embedded MassPay sandbox (no credentials needed)")
	fs.StringVar(&f.sandboxState, "sandbox-state", "", "with --sandbox: file the sandbox keeps its state in between runs, with its journal FILE.journal (default: next to the ledger)")
	fs.StringVar(&f.baseURL, "base-url", "", "MassPay base URL (env MASSPAY_BASE_URL), e.g. http://127.0.0.1:8080/v1.0.0/payout")
	fs.StringVar(&f.env, "env", "", "MassPay environment: production or staging (env MASSPAY_ENV)")
	fs.StringVar(&f.keyFile, "api-key-file", "", "file holding the MassPay API key (env MASSPAY_API_KEY_FILE; or MASSPAY_API_KEY)")
	fs.Var(&f.rateLimit, "rate-limit", "most MassPay requests per second (env PAYRUN_RATE_LIMIT; default none: MassPay's announced limit and 429s set the pace)")
	fs.BoolVar(&f.debug, "debug", false, "log every MassPay request (method, path, status, latency, attempt)")
}

// apiConn is an open connection to MassPay: the client, which environment it
// is, and what to close afterwards.
type apiConn struct {
	Client  *masspay.Client
	Env     string
	Sandbox *sandbox.Server // set with --sandbox
	close   func()
}

func (c *apiConn) Close() {
	if c != nil && c.close != nil {
		c.close()
	}
}

// openAPI builds the MassPay client from flags, then the environment. It
// never falls back to the sandbox silently: without --sandbox it needs a key
// and an explicit environment or base URL.
// ledgerPath locates the sandbox's state file (beside the ledger) for --sandbox.
func (m *Main) openAPI(ctx context.Context, f apiFlags, log zerolog.Logger, ledgerPath string) (*apiConn, error) {
	if f.sandbox {
		state := f.sandboxState
		if state == "" {
			state = sandboxStatePath(ledgerPath)
		}
		srv, err := sandbox.Start(sandbox.Config{APIKey: sandboxKey, StateFile: state})
		if err != nil {
			return nil, fmt.Errorf("start sandbox: %w", err)
		}
		c, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: sandboxKey, Logger: &log, Debug: f.debug, Observer: f.observe})
		if err != nil {
			srv.Close()
			return nil, err
		}
		return &apiConn{Client: c, Env: EnvSandbox, Sandbox: srv, close: func() { srv.Close() }}, nil
	}
	key, err := m.apiKey(f)
	if err != nil {
		return nil, err
	}
	env := firstNonEmpty(f.env, m.Getenv("MASSPAY_ENV"))
	base := firstNonEmpty(f.baseURL, m.Getenv("MASSPAY_BASE_URL"))
	switch {
	case base != "":
		if env == "" {
			env = EnvCustom
		}
	case env == EnvProduction:
		base = masspay.ProductionURL
	case env == EnvStaging:
		base = masspay.StagingURL
	case env == "":
		return nil, &UsageError{Err: errors.New("no MassPay environment chosen"),
			Hint: "MASSPAY_ENV=staging payrun ... (or production), --base-url URL, or --sandbox"}
	default:
		return nil, &UsageError{Err: fmt.Errorf("unknown MassPay environment %q", env), Hint: "MASSPAY_ENV=production or MASSPAY_ENV=staging"}
	}
	if base == masspay.ProductionURL && env != EnvProduction {
		// Production is never reached by accident: it takes MASSPAY_ENV=production.
		return nil, &UsageError{Err: errors.New("the production base URL needs an explicit production environment"),
			Hint: "MASSPAY_ENV=production payrun ... (or env = \"production\" in payrun.toml)"}
	}
	rate, err := f.rateLimit.resolve(m.Getenv)
	if err != nil {
		return nil, err
	}
	c, err := masspay.New(masspay.Config{BaseURL: base, APIKey: key, RateLimit: rate, Logger: &log, Debug: f.debug, Observer: f.observe})
	if err != nil {
		return nil, err
	}
	return &apiConn{Client: c, Env: env}, nil
}

// apiKey reads the key from --api-key-file, MASSPAY_API_KEY_FILE or
// MASSPAY_API_KEY, in that order.
func (m *Main) apiKey(f apiFlags) (string, error) {
	file := firstNonEmpty(f.keyFile, m.Getenv("MASSPAY_API_KEY_FILE"))
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", &UsageError{Err: fmt.Errorf("read API key file: %w", keyFileError(err)), Hint: "chmod 600 the key file and pass --api-key-file PATH"}
		}
		if k := strings.TrimSpace(string(b)); k != "" {
			return k, nil
		}
		return "", &UsageError{Err: fmt.Errorf("API key file %s is empty", file), Hint: "put the MassPay API key in the file"}
	}
	if k := strings.TrimSpace(m.Getenv("MASSPAY_API_KEY")); k != "" {
		return k, nil
	}
	return "", &UsageError{Err: errors.New("no MassPay API key"),
		Hint: "MASSPAY_API_KEY_FILE=/etc/payrun/key payrun ..., or --sandbox to try payrun without one"}
}

// keyFileError is err from reading an API key file, without the path: a
// key passed where its file's path belongs would otherwise be printed in
// the error (open mp_live_...: no such file or directory).
func keyFileError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w (the path given is not shown: it may be the key itself)", pe.Err)
	}
	return err
}

// keyFileShown is how a key file's path is shown (payrun config): as
// given when it names an existing file, else hidden, as it may be the key.
func keyFileShown(path string) string {
	if _, err := os.Stat(path); err != nil {
		return "(not shown: no such file, so it may be the key itself; give the path of a file holding the key)"
	}
	return path
}

// logFlags are the logging flags every command shares, and --config, which
// m.logger loads first since every command builds its logger first.
type logFlags struct {
	level  string
	file   string
	config string
}

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.level, "log-level", "", "log level: debug, info, warn, error (env PAYRUN_LOG_LEVEL; default info)")
	fs.StringVar(&f.file, "log-file", "", "append JSON log lines to this file instead of stderr (env PAYRUN_LOG_FILE)")
	fs.StringVar(&f.config, "config", "", "configuration file (env PAYRUN_CONFIG; default ./payrun.toml if present)")
}

// logger builds the command's logger: console lines on a terminal, JSON lines
// otherwise (cron) or into --log-file (opened for append).
//
// It first installs the configuration file (see config.go) under m.Getenv, so
// everything the command reads afterwards honours it.
func (m *Main) logger(f logFlags) (zerolog.Logger, func(), error) {
	if _, err := m.useConfig(f.config); err != nil {
		return zerolog.Nop(), nil, err
	}
	f.level = firstNonEmpty(f.level, m.Getenv("PAYRUN_LOG_LEVEL"))
	f.file = firstNonEmpty(f.file, m.Getenv("PAYRUN_LOG_FILE"))
	lvl, err := zerolog.ParseLevel(firstNonEmpty(f.level, "info"))
	if err != nil {
		return zerolog.Nop(), nil, &UsageError{Err: fmt.Errorf("parse log level: %w", err), Hint: "--log-level info"}
	}
	var w io.Writer = m.Stderr
	closer := func() {}
	if f.file != "" {
		fh, err := os.OpenFile(f.file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return zerolog.Nop(), nil, fmt.Errorf("open log file: %w", err)
		}
		w, closer = fh, func() { fh.Close() }
	} else if m.isTerminal(m.Stderr) {
		w = zerolog.ConsoleWriter{Out: m.Stderr, TimeFormat: time.Kitchen}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), closer, nil
}

// isTerminal reports whether w is an interactive terminal.
func (m *Main) isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// defaultLedger is the ledger path when neither --ledger nor PAYRUN_LEDGER is
// given: one ledger per working directory, so next month's run finds this
// month's payees.
func (m *Main) defaultLedger(flagVal string, sandboxRun bool) string {
	if flagVal != "" {
		return flagVal
	}
	// Commands without logging flags have not loaded payrun.toml yet; a bad
	// file is reported by every command that logs.
	_, _ = m.useConfig("")
	if v := m.Getenv("PAYRUN_LEDGER"); v != "" {
		return v
	}
	if sandboxRun {
		// Sandbox payees exist only in the sandbox: keep them out of the real
		// ledger's user cache.
		return "payrun-sandbox.db"
	}
	return "payrun.db"
}

func errorsIsUnauthorized(err error) bool { return errors.Is(err, masspay.ErrUnauthorized) }

// rateFlag is --rate-limit: a number that remembers whether it was given, so
// an unset flag yields to PAYRUN_RATE_LIMIT and payrun.toml.
type rateFlag struct {
	v   float64
	set bool
}

func (r *rateFlag) String() string {
	if r == nil || !r.set {
		return ""
	}
	return strconv.FormatFloat(r.v, 'f', -1, 64)
}

func (r *rateFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a number >= 0", s)
	}
	r.v, r.set = v, true
	return nil
}

// resolve returns the flag, else PAYRUN_RATE_LIMIT, else 0: no limit of
// payrun's own. The client still follows the limit MassPay's answers
// announce and a 429's Retry-After, and the run's adaptive window backs off
// on 429s, so a guessed default would only slow a MassPay that allows more.
func (r rateFlag) resolve(getenv func(string) string) (float64, error) {
	if r.set {
		return r.v, nil
	}
	if v := getenv("PAYRUN_RATE_LIMIT"); v != "" {
		var p rateFlag
		if err := p.Set(v); err != nil {
			return 0, &UsageError{Err: fmt.Errorf("PAYRUN_RATE_LIMIT: %w", err), Hint: "PAYRUN_RATE_LIMIT=50"}
		}
		return p.v, nil
	}
	return 0, nil
}
