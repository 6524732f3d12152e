package exports

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// A trimmed copy of batch/autopay's test world (test files cannot be
// shared between packages, and autopay sits above exports): the embedded
// sandbox, a client to it and a real ledger file.
type apWorld struct {
	t      *testing.T
	ctx    context.Context
	srv    *sandbox.Server
	api    *masspay.Client
	ledger *ledger.Ledger
	usd    string // the USD source token
}

func newAPWorld(t *testing.T) *apWorld {
	t.Helper()
	srv, err := sandbox.Start(sandbox.Config{APIKey: "test-key", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	api, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: "test-key", HTTPClient: &http.Client{}, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	w := &apWorld{t: t, ctx: context.Background(), srv: srv, api: api, ledger: l}
	bals, err := api.Balances(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bals {
		if b.CurrencyCode == "USD" {
			w.usd = b.Token
		}
	}
	return w
}

// payee creates a payee and, with a positive first load, opens its USD
// wallet. It returns the user token.
func (w *apWorld) payee(id, country, address string, firstLoad string) string {
	w.t.Helper()
	u, err := w.api.CreateUser(w.ctx, "user:"+id, masspay.User{Profile: masspay.Profile{InternalUserID: id, Country: country, FirstName: "F" + id,
		LastName: "L", Email: id + "@example.com", Address1: address}})
	if err != nil {
		w.t.Fatal(err)
	}
	if firstLoad != "" {
		_, err := w.api.Load(w.ctx, id+"-first", u.UserToken, masspay.LoadTxn{ClientLoadID: id + "-first", SourceToken: w.usd,
			Amount: decimal.RequireFromString(firstLoad), SourceCurrencyCode: "USD"})
		if err != nil {
			w.t.Fatal(err)
		}
	}
	return u.UserToken
}

// writeFile writes content to a file named name in a fresh temp dir.
func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
