package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
	"github.com/payrun/payrun/masspay/webhook"
)

const hookSecret = "whsec-test"

// hookWorld is a paid world whose sandbox delivers webhooks to a real
// receiver (webhook.Handler over HTTP) that applies them to the ledger.
type hookWorld struct {
	*paidWorld
	srv       *httptest.Server
	delivered atomic.Int64
}

func newHookWorld(t *testing.T) *hookWorld {
	t.Helper()
	var app atomic.Pointer[reconcile.StatusApplier]
	hw := &hookWorld{}
	h := webhook.New([]byte(hookSecret), func(ctx context.Context, ev masspay.WebhookEvent, received time.Time) error {
		a := app.Load()
		if a == nil {
			return errors.New("ledger not open yet") // 500: the sandbox retries later
		}
		hw.delivered.Add(1)
		_, err := a.Webhook(ctx, ev, received)
		return err
	})
	hw.srv = httptest.NewServer(h)
	t.Cleanup(hw.srv.Close)
	hw.paidWorld = newPaidWorld(t, hw.srv.URL, hookSecret)
	app.Store(reconcile.NewStatusApplier(hw.l))
	return hw
}

func TestWebhooksBringLedgerToSandboxTruth(t *testing.T) {
	ctx := context.Background()
	w := newHookWorld(t)
	// Every delivery may come twice and out of order, and none arrives until
	// the whole story has happened: delayed, duplicated, reordered.
	w.sb.SetFaults(sandbox.Faults{WebhookDuplicateRate: 0.5, WebhookReorder: true})
	w.sb.Advance(2 * time.Minute)
	w.sb.Advance(4 * time.Minute)
	w.sb.Advance(30 * time.Minute)
	if err := w.sb.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if w.delivered.Load() < 9 {
		t.Fatalf("only %d webhooks applied", w.delivered.Load())
	}
	w.assertMatchesTruth(t)
	want := map[string]string{"r-ok": "COMPLETED", "r-cancel": "CANCELLED", "r-flip": "CANCELLED", "r-load": "COMPLETED"}
	for id, st := range w.statuses(t) {
		if want[id] != st {
			t.Errorf("%s = %s, want %s", id, st, want[id])
		}
	}
	evs := flipEvents(t, w.l)
	if len(evs) != 1 || evs[0].TransferID != "r-flip" {
		t.Fatalf("flip events = %+v, want one for r-flip", evs)
	}
	// The webhooks left nothing for reconcile to do.
	rep, err := (&reconcile.Reconciler{API: w.client, Ledger: w.l, Clock: w.clock.Now}).Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changes) != 0 || len(rep.Flips) != 0 || rep.NeedsAttention() {
		t.Fatalf("reconcile after webhooks: %+v", rep)
	}
}

// post sends body to url signed at ts with secret (no header when secret is
// empty) and returns the status code.
func post(t *testing.T, url string, body []byte, secret string, ts time.Time) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set(masspay.SignatureHeader, masspay.SignPayload([]byte(secret), ts, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWebhookOrderDuplicatesAndForgeries(t *testing.T) {
	ctx := context.Background()
	w := newPaidWorld(t, "", "")
	app := reconcile.NewStatusApplier(w.l)
	srv := httptest.NewServer(webhook.New([]byte(hookSecret), func(ctx context.Context, ev masspay.WebhookEvent, rcv time.Time) error {
		_, err := app.Webhook(ctx, ev, rcv)
		return err
	}))
	defer srv.Close()

	flip := mustRow(t, w.l, "r-flip")
	t0 := w.clock.Now()
	event := func(status string, after time.Duration) []byte {
		b, err := json.Marshal(masspay.WebhookEvent{EventType: masspay.EventPayout, Status: status, UserToken: flip.UserToken,
			PayoutToken: flip.PayoutToken, ClientTransferID: flip.ID, EventTime: t0.Add(after).Format(time.RFC3339Nano)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	send := func(status string, after time.Duration) {
		t.Helper()
		if code := post(t, srv.URL, event(status, after), hookSecret, time.Now()); code != http.StatusOK {
			t.Fatalf("%s: status %d", status, code)
		}
	}
	countEvents := func() int {
		n := 0
		for _, err := range w.l.Events(ctx, ledger.EventFilter{TransferID: flip.ID}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}

	// The cancellation arrives first, then the older news, each twice.
	send("CANCELLED", 35*time.Minute)
	send("CANCELLED", 35*time.Minute)
	if got := mustRow(t, w.l, flip.ID); got.Status() != "CANCELLED" || !got.LaterStatusAt.Equal(t0.Add(35*time.Minute)) {
		t.Fatalf("after CANCELLED: %s at %v", got.Status(), got.LaterStatusAt)
	}
	if n := len(flipEvents(t, w.l)); n != 0 {
		t.Fatalf("PENDING -> CANCELLED is no flip, got %d", n)
	}
	send("COMPLETED", 5*time.Minute) // late: reveals the flip, changes nothing
	send("COMPLETED", 5*time.Minute)
	send("PROCESSING", time.Minute)
	if got := mustRow(t, w.l, flip.ID); got.Status() != "CANCELLED" || got.State != ledger.StatePaid {
		t.Fatalf("older news moved the row: %s / %s", got.Status(), got.State)
	}
	if evs := flipEvents(t, w.l); len(evs) != 1 {
		t.Fatalf("flip events = %d, want 1 (COMPLETED -> CANCELLED learnt from late news)", len(evs))
	}
	// A flip back, then its duplicate.
	send("COMPLETED", 50*time.Minute)
	send("COMPLETED", 50*time.Minute)
	if evs := flipEvents(t, w.l); len(evs) != 2 {
		t.Fatalf("flip events = %d, want 2 after CANCELLED -> COMPLETED", len(evs))
	}
	before, beforeRow := countEvents(), mustRow(t, w.l, flip.ID)

	// Forged, unsigned and stale deliveries: 401, and nothing changes.
	bad := event("CANCELLED", 60*time.Minute)
	cases := []struct {
		name   string
		secret string
		ts     time.Time
	}{
		{"forged", "not-the-secret", time.Now()},
		{"unsigned", "", time.Now()},
		{"stale", hookSecret, time.Now().Add(-time.Hour)},
		{"future", hookSecret, time.Now().Add(time.Hour)},
	}
	for _, c := range cases {
		if code := post(t, srv.URL, bad, c.secret, c.ts); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", c.name, code)
		}
	}
	// A body changed after signing is a forgery too.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(bad))
	req.Header.Set(masspay.SignatureHeader, masspay.SignPayload([]byte(hookSecret), time.Now(), event("PROCESSING", 0)))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("tampered body: %v %v", resp, err)
	}
	if after, row := countEvents(), mustRow(t, w.l, flip.ID); after != before || row.Status() != beforeRow.Status() ||
		!row.LaterStatusAt.Equal(beforeRow.LaterStatusAt) {
		t.Fatalf("refused deliveries changed the ledger: events %d -> %d, status %s -> %s", before, after, beforeRow.Status(), row.Status())
	}

	// News about payments payrun never made is acknowledged and ignored.
	stranger, _ := json.Marshal(masspay.WebhookEvent{EventType: masspay.EventPayout, Status: "COMPLETED", PayoutToken: "payout_x", ClientTransferID: "not-ours"})
	if code := post(t, srv.URL, stranger, hookSecret, time.Now()); code != http.StatusOK {
		t.Fatalf("unknown payment: %d, want 200", code)
	}
	// A token that is not the row's (an abandoned quote) does not land on it.
	other, _ := json.Marshal(masspay.WebhookEvent{EventType: masspay.EventPayout, Status: "PROCESSING", PayoutToken: "payout_other",
		ClientTransferID: "r-ok", EventTime: t0.Add(2 * time.Minute).Format(time.RFC3339Nano)})
	if code := post(t, srv.URL, other, hookSecret, time.Now()); code != http.StatusOK {
		t.Fatalf("other token: %d", code)
	}
	if st := mustRow(t, w.l, "r-ok").Status(); st != "PENDING" {
		t.Fatalf("r-ok took news about another token: %s", st)
	}
}

func TestStatusApplierNeverPays(t *testing.T) {
	ctx := context.Background()
	w := newPaidWorld(t, "", "")
	app := reconcile.NewStatusApplier(w.l)
	before := w.sb.Audit()
	for _, st := range []string{"PROCESSING", "COMPLETED", "CANCELLED", "COMPLETED"} {
		w.clock.Advance(time.Minute)
		if _, err := app.Apply(ctx, reconcile.StatusNews{TransferID: "r-ok", Status: st, At: w.clock.Now(), Source: ledger.EventWebhook}); err != nil {
			t.Fatal(err)
		}
	}
	after := w.sb.Audit()
	if len(after.Payouts) != len(before.Payouts) || len(after.Loads) != len(before.Loads) {
		t.Fatalf("applying news made payments: %d -> %d payouts", len(before.Payouts), len(after.Payouts))
	}
	for row, err := range w.l.Rows(ctx, ledger.RowFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if row.State != ledger.StatePaid && row.State != ledger.StateLoaded {
			t.Fatalf("row %s moved to %s", row.ID, row.State)
		}
	}
	if _, err := app.Apply(ctx, reconcile.StatusNews{TransferID: "nobody", Status: "COMPLETED", At: w.clock.Now()}); !errors.Is(err, reconcile.ErrUnknownPayment) {
		t.Fatalf("unknown row: %v", err)
	}
}
