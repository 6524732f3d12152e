// Package paidrun is a test fixture shared by the tests of batch, batch/reconcile
// and batch/exports: the embedded sandbox on a manual clock and a real ledger
// file whose run the real batch.Runner paid. Test files cannot be imported
// across packages, and this one is too large to copy; only external test
// packages (package x_test) import it, as it imports the runner above them.
package paidrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// Sheet pays three USA bank payouts (one plain, one ending CANCELLED by
// magic cents .15, one flipping COMPLETED -> CANCELLED by .16) and one
// wallet load.
const Sheet = `client_transfer_id,internal_user_id,first_name,last_name,email,country,amount,method,destination_currency,attr:BankAccountNumber,attr:BankRoutingNumber
r-ok,u-1,Ana,Lima,ana@example.com,USA,100.00,payout,USD,123456789,021000021
r-cancel,u-2,Bo,Chen,bo@example.com,USA,200.15,payout,USD,223456789,021000021
r-flip,u-3,Cy,Diaz,cy@example.com,USA,300.16,payout,USD,323456789,021000021
r-load,u-4,Di,Eze,di@example.com,USA,50.00,load,USD,,
`

// World is a sandbox on a manual clock and a real ledger file whose run
// was paid by the real runner.
type World struct {
	Sandbox *sandbox.Server
	Clock   *sandbox.ManualClock
	Client  *masspay.Client
	Ledger  *ledger.Ledger
	RunID   int64
}

// New starts a sandbox (delivering webhooks to hookURL, if set), ingests
// Sheet into a fresh ledger and pays it with batch.Runner.
func New(t *testing.T, hookURL, secret string) *World {
	t.Helper()
	ctx := context.Background()
	clock := sandbox.NewManualClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.Start(sandbox.Config{APIKey: "sandbox-key", Clock: clock, Seed: 7, WebhookURL: hookURL, WebhookSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	client, err := masspay.NewWithBaseURL(sb.URL(), "sandbox-key", masspay.WithRetryBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, err := ledger.Open(ctx, filepath.Join(dir, "payrun.db"), ledger.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	sheet := filepath.Join(dir, "march.csv")
	if err := os.WriteFile(sheet, []byte(Sheet), 0o600); err != nil {
		t.Fatal(err)
	}
	bals, err := client.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := ledger.Balances{}
	for _, b := range bals {
		before[b.CurrencyCode] = b.Balance
	}
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: sheet, SheetSHA256: "test", Environment: "sandbox", BalancesBefore: before})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RecordSheet(ctx, l, run.ID, sheet, ingest.IngestOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	runner := &batch.Runner{API: client, Ledger: l, Clock: clock.Now, Log: zerolog.Nop(), RetryWait: time.Millisecond}
	if _, err := runner.Run(ctx, ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r-ok", "r-cancel", "r-flip"} {
		if row := MustRow(t, l, id); row.State != ledger.StatePaid || row.PayoutToken == "" {
			t.Fatalf("setup: row %s is %s (%s), want PAID with a payout token", id, row.State, row.LastError)
		}
	}
	if row := MustRow(t, l, "r-load"); row.State != ledger.StateLoaded {
		t.Fatalf("setup: r-load is %s (%s), want LOADED", row.State, row.LastError)
	}
	return &World{Sandbox: sb, Clock: clock, Client: client, Ledger: l, RunID: run.ID}
}

// MustRow reads row id from l, failing the test when it cannot.
func MustRow(t *testing.T, l *ledger.Ledger, id string) ledger.Row {
	t.Helper()
	row, err := l.Row(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// FlipEvents returns every EventFlip event l holds, oldest first.
func FlipEvents(t *testing.T, l *ledger.Ledger) []ledger.Event {
	t.Helper()
	var out []ledger.Event
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{Kind: reconcile.EventFlip}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}
