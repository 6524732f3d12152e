package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// sandboxKey is the API key of the embedded sandbox; it opens nothing else.
const sandboxKey = sandbox.DefaultAPIKey

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
		// A new seed each start: a restored state brings its own token
		// generator, and a fresh one (its file deleted) must not hand out
		// again the tokens an older state gave other payees, which a
		// ledger that outlived that state still caches.
		srv, err := sandbox.Start(sandbox.Config{APIKey: sandboxKey, StateFile: state, Seed: time.Now().UnixNano()})
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
	key, env, base, err := m.endpoint(f)
	if err != nil {
		return nil, err
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

// sandboxStatePath is where an in-process sandbox keeps its state: beside
// the ledger, so a resumed --sandbox run meets the same MassPay.
func sandboxStatePath(ledgerPath string) string {
	return ledgerSibling(ledgerPath, ".sandbox.json")
}

// apiFailure classifies a MassPay failure before any row was paid.
func apiFailure(what string, err error) error {
	if errorsIsUnauthorized(err) {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("%s: MassPay refused the API key: %w", what, err)}
	}
	return &ExitError{Code: ExitAborted, Err: fmt.Errorf("%s: %w", what, err)}
}

func errorsIsUnauthorized(err error) bool { return errors.Is(err, masspay.ErrUnauthorized) }
