package batch

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// TestResumedRowWithStaleCachedPayee: a load's intent was recorded with a
// cached payee token, the process died, and the MassPay the next process
// talks to does not know that token. The resumed row asks MassPay first;
// the payee's loads answered 404 and the row stayed in flight run after
// run. A payee MassPay does not know holds no money: the payee is looked up
// again (created here), and the row is loaded under the same key.
func TestResumedRowWithStaleCachedPayee(t *testing.T) {
	g := newRig(t, rigOptions{})
	ctx := context.Background()
	g.run(g.ingest(writeSheetCSV(t, g.dir, []sheetLine{loadLine("SP-1", 1, "30.00")})), 1)

	srv, err := sandbox.Start(sandbox.Config{APIKey: sandbox.DefaultAPIKey, Seed: 99})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	api, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: sandbox.DefaultAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	second := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{loadLine("SP-2", 1, "31.00")}))
	dying := &Runner{API: api, Ledger: g.led, Log: zerolog.Nop()}
	dying.defaults()
	if err := dying.loadSources(ctx); err != nil {
		t.Fatal(err)
	}
	row, err := g.led.Row(ctx, "SP-2")
	if err != nil {
		t.Fatal(err)
	}
	if row, err = dying.step(ctx, row); err != nil || row.State != ledger.StateLoadSent {
		t.Fatalf("intent: %s, %v", row.State, err)
	}
	stale := row.UserToken

	next := &Runner{API: api, Ledger: g.led, Workers: 1, Log: zerolog.Nop(), UnknownOutcomeRetries: 2, RetryWait: time.Millisecond}
	if _, err := next.Run(ctx, ctx, second); err != nil {
		t.Fatal(err)
	}
	row, err = g.led.Row(ctx, "SP-2")
	if err != nil {
		t.Fatal(err)
	}
	if row.State != ledger.StateLoaded || row.UserToken == stale {
		t.Errorf("resumed row with a stale payee token: %s under %s (stale %s): %s", row.State, row.UserToken, stale, row.LastError)
	}
	if tok, _, _ := g.led.UserToken(ctx, "u-001"); tok != row.UserToken {
		t.Errorf("cache %q, row loaded under %q", tok, row.UserToken)
	}
}
