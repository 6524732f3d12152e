package batch

import (
	"context"
	"encoding/csv"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
	"github.com/rs/zerolog"
)

// statusWorld pays statusSheet against a sandbox whose commit of s-pay is
// interrupted by a webhook: the hook runs after MassPay committed, before
// the runner reads the answer and records PAID.
type statusWorld struct {
	srv   *sandbox.Server
	led   *ledger.Ledger
	app   *reconcile.StatusApplier
	runID int64
	dir   string
}

// statusSheet: s-pay and s-pay2 are paid, s-fail's load is refused (.13).
const statusSheet = `client_transfer_id,internal_user_id,first_name,last_name,email,country,amount,method,destination_currency,attr:BankAccountNumber,attr:BankRoutingNumber
s-pay,u-1,Ana,Lima,ana@example.com,USA,100.00,payout,USD,123456789,021000021
s-pay2,u-2,Bo,Chen,bo@example.com,USA,110.00,payout,USD,223456789,021000021
s-fail,u-3,Cy,Diaz,cy@example.com,USA,50.13,load,USD,,
`

// hookOnCommit runs fn after the request under Idempotency-Key key was
// answered, before the caller sees the answer.
type hookOnCommit struct {
	key string
	fn  func()
}

func (h *hookOnCommit) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && r.Header.Get("Idempotency-Key") == h.key && h.fn != nil {
		h.fn()
	}
	return resp, err
}

func newStatusWorld(t *testing.T, duringCommit func(w *statusWorld)) *statusWorld {
	t.Helper()
	ctx := context.Background()
	w := &statusWorld{dir: t.TempDir()}
	srv, err := sandbox.Start(sandbox.Config{APIKey: sandbox.DefaultAPIKey, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	w.srv = srv
	hook := &hookOnCommit{key: "s-pay#commit", fn: func() { duringCommit(w) }}
	api, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: sandbox.DefaultAPIKey,
		HTTPClient: &http.Client{Transport: hook}, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if w.led, err = ledger.Open(ctx, filepath.Join(w.dir, "payrun.db"), ledger.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.led.Close() })
	w.app = reconcile.NewStatusApplier(w.led)
	sheet := filepath.Join(w.dir, "july.csv")
	if err := os.WriteFile(sheet, []byte(statusSheet), 0o600); err != nil {
		t.Fatal(err)
	}
	run, err := w.led.BeginRun(ctx, ledger.RunInfo{SheetName: sheet, SheetSHA256: "test", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	w.runID = run.ID
	if _, err := ingest.RecordSheet(ctx, w.led, run.ID, sheet, ingest.IngestOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	r := &Runner{API: api, Ledger: w.led, Workers: 1, Log: zerolog.Nop(), RetryWait: time.Millisecond}
	if _, err := r.Run(ctx, ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]ledger.State{"s-pay": ledger.StatePaid, "s-pay2": ledger.StatePaid, "s-fail": ledger.StateFailed} {
		if row, _ := w.led.Row(ctx, id); row.State != want {
			t.Fatalf("setup: %s is %s (%s), want %s", id, row.State, row.LastError, want)
		}
	}
	return w
}

// webhook delivers a payout or load status callback for row id dated at,
// received at received.
func (w *statusWorld) webhook(t *testing.T, id, token, status string, at, received time.Time) {
	t.Helper()
	ev := masspay.WebhookEvent{EventType: masspay.EventPayout, Status: status, PayoutToken: token,
		ClientTransferID: id, EventTime: at.UTC().Format(time.RFC3339Nano)}
	if len(token) > 3 && token[:3] == "ld_" {
		ev = masspay.WebhookEvent{EventType: masspay.EventLoad, Status: status, LoadToken: token,
			ClientLoadID: id, EventTime: at.UTC().Format(time.RFC3339Nano)}
	}
	if _, err := w.app.Webhook(context.Background(), ev, received); err != nil {
		t.Fatalf("webhook %s %s: %v", id, status, err)
	}
}

// shownStatus is the masspay_status the results (CSV) show for row id.
func (w *statusWorld) shownStatus(t *testing.T, id string) string {
	t.Helper()
	path := filepath.Join(w.dir, "results.csv")
	if _, err := results.WriteResults(context.Background(), w.led, w.runID, path, results.ResultsOptions{Format: ingest.FormatCSV}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	idCol, stCol := -1, -1
	for i, h := range recs[0] {
		h = strings.TrimPrefix(h, "\ufeff") // the BOM Excel wants
		if h == "client_transfer_id" && idCol < 0 {
			idCol = i
		}
		if h == "masspay_status" {
			stCol = i
		}
	}
	if idCol < 0 || stCol < 0 {
		t.Fatalf("results header %v lacks client_transfer_id or masspay_status", recs[0])
	}
	for _, rec := range recs[1:] {
		if rec[idCol] == id {
			return rec[stCol]
		}
	}
	t.Fatalf("row %s not in the results", id)
	return ""
}

// Case 5 of issue 17: a webhook that lands while the runner commits (after
// MassPay answered, before the runner recorded PAID) must survive the
// runner's write, and its redelivery must leave it standing. The runner
// wrote masspay_status from its copy of the row, overwriting COMPLETED, and
// the redelivery was then refused as no newer than status_changed_at.
func TestWebhookDuringCommitSurvivesRunnerAndRedelivery(t *testing.T) {
	ctx := context.Background()
	var at time.Time
	w := newStatusWorld(t, func(w *statusWorld) {
		row, err := w.led.Row(ctx, "s-pay")
		if err != nil || row.PayoutToken == "" {
			t.Errorf("during commit: row %+v, %v", row.State, err)
			return
		}
		at = time.Now().UTC()
		w.webhook(t, "s-pay", row.PayoutToken, "COMPLETED", at, at)
	})
	if got := w.shownStatus(t, "s-pay"); got != "COMPLETED" {
		t.Errorf("after the runner recorded PAID, results show %q, want COMPLETED from the webhook", got)
	}
	// MassPay delivers the same event again.
	row, _ := w.led.Row(ctx, "s-pay")
	w.webhook(t, "s-pay", row.PayoutToken, "COMPLETED", at, time.Now())
	if got := w.shownStatus(t, "s-pay"); got != "COMPLETED" {
		t.Errorf("after the redelivery, results show %q, want COMPLETED", got)
	}
}

// Case 9 of issue 17: a valid webhook for a row payrun never paid (FAILED,
// no token) is recorded as unmatched and not applied; an event dated years
// ahead of the receiver's clock is refused, so it cannot freeze a row's
// status against the real news that follows.
func TestWebhookOnNeverPaidRowAndFromTheFuture(t *testing.T) {
	ctx := context.Background()
	w := newStatusWorld(t, func(*statusWorld) {})
	now := time.Now().UTC()

	w.webhook(t, "s-fail", "ld_not-ours", "COMPLETED", now, now)
	if got := w.shownStatus(t, "s-fail"); got != "" {
		t.Errorf("FAILED row with no payment shows MassPay status %q, want none", got)
	}
	unmatched := 0
	for _, err := range w.led.Events(ctx, ledger.EventFilter{TransferID: "s-fail", Kind: ledger.EventKind("unmatched")}) {
		if err != nil {
			t.Fatal(err)
		}
		unmatched++
	}
	if unmatched != 1 {
		t.Errorf("s-fail has %d unmatched events, want the webhook kept as one", unmatched)
	}

	row, _ := w.led.Row(ctx, "s-pay2")
	w.webhook(t, "s-pay2", row.PayoutToken, "PROCESSING", now.AddDate(10, 0, 0), now)
	w.webhook(t, "s-pay2", row.PayoutToken, "COMPLETED", now.Add(time.Second), now.Add(time.Second))
	if got := w.shownStatus(t, "s-pay2"); got != "COMPLETED" {
		t.Errorf("after an event dated 10 years ahead and a real one, results show %q, want COMPLETED", got)
	}
}
