package main

// This file resolves settings that come from a flag, then the environment
// (payrun.toml under it, see config.go): which MassPay and key, the ledger,
// numbers such as workers. Using them (opening MassPay, logging, asking on
// the terminal) lives in api.go, logging.go and terminal.go.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/payrun/payrun/masspay"
)

// Environment names, as recorded in runs and shown in results.
const (
	EnvProduction = "production"
	EnvStaging    = "staging"
	EnvSandbox    = "sandbox"
	EnvCustom     = "custom"
)

// endpoint resolves which MassPay to call and with which key, from the
// flags, then the environment (and payrun.toml under it). It never chooses
// the sandbox or production by itself: without --sandbox it needs a key and
// an explicit environment or base URL, and production takes
// MASSPAY_ENV=production.
func (m *Main) endpoint(f apiFlags) (key, env, base string, err error) {
	if key, err = m.apiKey(f); err != nil {
		return "", "", "", err
	}
	env = firstNonEmpty(f.env, m.Getenv("MASSPAY_ENV"))
	base = firstNonEmpty(f.baseURL, m.Getenv("MASSPAY_BASE_URL"))
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
		return "", "", "", &UsageError{Err: errors.New("no MassPay environment chosen"),
			Hint: "MASSPAY_ENV=staging payrun ... (or production), --base-url URL, or --sandbox"}
	default:
		return "", "", "", &UsageError{Err: fmt.Errorf("unknown MassPay environment %q", env), Hint: "MASSPAY_ENV=production or MASSPAY_ENV=staging"}
	}
	if base == masspay.ProductionURL && env != EnvProduction {
		// Production is never reached by accident: it takes MASSPAY_ENV=production.
		return "", "", "", &UsageError{Err: errors.New("the production base URL needs an explicit production environment"),
			Hint: "MASSPAY_ENV=production payrun ... (or env = \"production\" in payrun.toml)"}
	}
	return key, env, base, nil
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

func envInt(m *Main, name string, def int) int {
	var n int
	if v := m.Getenv(name); v != "" {
		if _, err := fmt.Sscanf(v, "%d", &n); err == nil && n > 0 {
			return n
		}
	}
	return def
}
