package alert_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/alert"
	"github.com/payrun/payrun/batch/alert/alerttest"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// TestFlipAlertedOnce: the sandbox's .16 cents flip COMPLETED -> CANCELLED,
// found by reconcile, gives exactly one alert, however often reconcile runs
// afterwards and even when the same flip is handed over again (as a second
// receiver learning it would).
func TestFlipAlertedOnce(t *testing.T) {
	ctx := context.Background()
	clock := sandbox.NewManualClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.Start(sandbox.Config{APIKey: "sandbox-key", Clock: clock, Seed: 7})
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
	os.WriteFile(sheet, []byte(`client_transfer_id,internal_user_id,first_name,last_name,email,country,amount,method,destination_currency,attr:BankAccountNumber,attr:BankRoutingNumber
r-flip,u-3,Cy,Diaz,cy@example.com,USA,300.16,payout,USD,323456789,021000021
`), 0o600)
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: sheet, SheetSHA256: "test", Environment: "sandbox", BalancesBefore: ledger.Balances{}})
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

	hook := alerttest.StartHook(t)
	n, err := alert.New(alert.Config{WebhookURL: hook.Srv.URL}, l, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	rec := &reconcile.Reconciler{API: client, Ledger: l, Workers: 2, Clock: clock.Now, RunID: run.ID}
	flips := 0
	var seen []results.Flip
	for _, step := range []time.Duration{6 * time.Minute, 30 * time.Minute, time.Hour} {
		sb.Advance(step)
		rep, err := rec.Reconcile(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rep.Balances = nil // this test is about flips; the ledger has no opening balance
		flips += len(rep.Flips)
		seen = append(seen, rep.Flips...)
		n.Reconciled(ctx, rep)
	}
	if flips != 1 {
		t.Fatalf("reconcile found %d flips, want 1", flips)
	}
	n.Flip(ctx, seen[0]) // the same flip handed over again
	got := hook.Got()
	if len(got) != 1 {
		t.Fatalf("webhook got %d posts, want exactly one flip alert", len(got))
	}
	var body struct{ Kind, Text string }
	if err := json.Unmarshal(got[0], &body); err != nil || body.Kind != "flip" {
		t.Errorf("post %s", got[0])
	}
}
