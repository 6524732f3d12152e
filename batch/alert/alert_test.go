package alert_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/alert"
	"github.com/payrun/payrun/batch/alert/alerttest"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/ledger"
)

const testPassword = "s3cret-smtp-pass"

// newNotifier builds a Notifier for c with a fresh ledger, quick back-off,
// and roots trusting the test server's certificate.
func newNotifier(t *testing.T, c alert.Config, roots *x509.CertPool) (*alert.Notifier, *bytes.Buffer) {
	t.Helper()
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	n, err := alert.New(c, alerttest.OpenLedger(t), zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if n.Email != nil && roots != nil {
		n.Email.TLSConfig = &tls.Config{RootCAs: roots}
		n.Email.Timeout = 5 * time.Second
	}
	n.Backoff = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	return n, &logs
}

func passwordFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "smtp.pass")
	if err := os.WriteFile(p, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func testMessage(key string) alert.Message {
	return alert.Message{Key: key, Kind: alert.KindFlip, Subject: "payrun: FLIP r1 COMPLETED -> CANCELLED",
		Text: "MassPay changed a settled payment.\n", Fields: []alert.Field{{Name: "was", Value: "COMPLETED"}}}
}

// Email over STARTTLS (self-signed certificate, PLAIN auth) and over TLS
// from the start: envelope, headers, TLS and content arrive; the password is
// never logged; the same alert is not sent twice.
func TestEmailDeliversOverTLSOnce(t *testing.T) {
	for _, implicit := range []bool{false, true} {
		scheme := map[bool]string{false: "smtp", true: "smtps"}[implicit]
		t.Run(scheme, func(t *testing.T) {
			addr, box, roots := alerttest.StartSMTP(t, implicit, "payrun", testPassword)
			c := alert.Config{SMTPURL: scheme + "://payrun@" + addr, PasswordFile: passwordFile(t), From: "payrun@example.com",
				To: map[alert.Kind][]string{"": {"ops@example.com"}, alert.KindFlip: {"finance@example.com", "cfo@example.com"}}}
			n, logs := newNotifier(t, c, roots)
			ctx := context.Background()
			if res := n.Send(ctx, testMessage("flip:1")); res.Sent != 1 || res.Failed != 0 {
				t.Fatalf("Send = %+v", res)
			}
			if res := n.Send(ctx, testMessage("flip:1")); res.Sent != 0 || res.Skipped != 1 {
				t.Fatalf("second Send = %+v; want skipped", res)
			}
			msgs := box.All()
			if len(msgs) != 1 {
				t.Fatalf("server got %d messages; want 1", len(msgs))
			}
			m := msgs[0]
			if m.From != "payrun@example.com" || strings.Join(m.To, ",") != "finance@example.com,cfo@example.com" || !m.TLS || m.User != "payrun" {
				t.Errorf("envelope = from %q to %v tls %v user %q", m.From, m.To, m.TLS, m.User)
			}
			for _, want := range []string{"Subject: payrun: FLIP r1 COMPLETED -> CANCELLED", "From: <payrun@example.com>",
				"X-Payrun-Alert: flip", "MassPay changed a settled payment."} {
				if !strings.Contains(m.Data, want) {
					t.Errorf("message lacks %q:\n%s", want, m.Data)
				}
			}
			if strings.Contains(logs.String(), testPassword) {
				t.Errorf("password in logs: %s", logs)
			}
		})
	}
}

// The webhook channel posts Slack/Teams-compatible JSON: a text field plus
// structured fields.
func TestWebhookPostsJSON(t *testing.T) {
	h := alerttest.StartHook(t)
	n, _ := newNotifier(t, alert.Config{WebhookURL: h.Srv.URL + "/hooks/T0KEN"}, nil)
	if res := n.Send(context.Background(), testMessage("flip:2")); res.Sent != 1 {
		t.Fatalf("Send = %+v", res)
	}
	got := h.Got()
	if len(got) != 1 {
		t.Fatalf("receiver got %d posts", len(got))
	}
	var body struct {
		Text   string
		Kind   string
		Key    string
		Fields []alert.Field
	}
	if err := json.Unmarshal(got[0], &body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.Text, "FLIP r1") || body.Kind != "flip" || body.Key != "flip:2" || len(body.Fields) != 1 {
		t.Errorf("body = %s", got[0])
	}
}

// A webhook answering 500 is retried with back-off until it takes the
// alert; an SMTP server that is down fails after its retries, is recorded
// as failed without failing the caller, and is sent again next time; no
// error shows the webhook's token or the password.
func TestFailingChannelsRetriedAndRecorded(t *testing.T) {
	h := alerttest.StartHook(t)
	h.Fail.Store(2)
	addr, box, roots := alerttest.StartSMTP(t, false, "", "")
	c := alert.Config{SMTPURL: "smtp://" + addr, From: "payrun@example.com", To: map[alert.Kind][]string{"": {"ops@example.com"}},
		WebhookURL: h.Srv.URL + "/hooks/T0KEN"}
	n, logs := newNotifier(t, c, roots)
	down, _ := alert.NewEmail(alert.Config{SMTPURL: "smtp://127.0.0.1:1", From: "payrun@example.com"})
	good := n.Email
	n.Email = down
	ctx := context.Background()
	res := n.Send(ctx, testMessage("flip:3"))
	if res.Sent != 1 || res.Failed != 1 || h.Tries.Load() != 3 {
		t.Fatalf("Send = %+v, webhook tries %d; want webhook sent on the 3rd try, email failed", res, h.Tries.Load())
	}
	for _, e := range res.Errs {
		if strings.Contains(e, "T0KEN") {
			t.Errorf("error shows the webhook token: %s", e)
		}
	}
	if strings.Contains(logs.String(), "T0KEN") {
		t.Errorf("log shows the webhook token: %s", logs)
	}
	n.Email = good // the server is back
	res = n.Send(ctx, testMessage("flip:3"))
	if res.Sent != 1 || res.Skipped != 1 || len(box.All()) != 1 {
		t.Fatalf("after recovery Send = %+v, mails %d; want the email sent once, the webhook skipped", res, len(box.All()))
	}
}

// The configuration refuses a password in smtp_url, plain http to a remote
// webhook and KYC notices without a compliance mailbox; payrun config shows
// neither user nor token.
func TestConfigRefusesSecretsAndShowsNone(t *testing.T) {
	env := map[string]string{alert.Env.SMTPURL: "smtp://u:pw@mail.example.com", alert.Env.From: "a@example.com"}
	if _, err := alert.FromEnv(func(k string) string { return env[k] }); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("password in URL: err = %v", err)
	}
	env = map[string]string{alert.Env.WebhookURL: "http://hooks.example.com/x"}
	if _, err := alert.FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("plain http webhook accepted")
	}
	env = map[string]string{alert.Env.SMTPURL: "smtp://mail.example.com", alert.Env.From: "a@example.com", alert.Env.KYCNotice: "both"}
	if _, err := alert.FromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("kyc_notice=both without a compliance mailbox accepted")
	}
	if s := alert.ShowWebhookURL("https://hooks.slack.com/services/T0/B0/SECRET"); strings.Contains(s, "SECRET") {
		t.Errorf("ShowWebhookURL = %s", s)
	}
	if s := alert.ShowSMTPURL("smtp://user:pw@mail.example.com:587"); strings.Contains(s, "pw") || strings.Contains(s, "user") {
		t.Errorf("ShowSMTPURL = %s", s)
	}
}

// The KYC template renders subject, text and HTML; the HTML escapes.
func TestKYCTemplateRenders(t *testing.T) {
	tpl, err := alert.LoadKYCTemplate(alert.Config{})
	if err != nil {
		t.Fatal(err)
	}
	subj, text, html, err := tpl.Render(alert.KYCData{CompanyName: "Acme <Ltd>", FirstName: "Ana", Amount: "10.00", Currency: "USD",
		ClientTransferID: "r1", Link: "https://kyc.example.com/u/abc"})
	if err != nil {
		t.Fatal(err)
	}
	if subj != "Acme <Ltd>: please upload a document so we can pay you" || !strings.Contains(text, "https://kyc.example.com/u/abc") ||
		!strings.Contains(html, "Acme &lt;Ltd&gt;") || !strings.Contains(html, `href="https://kyc.example.com/u/abc"`) {
		t.Errorf("rendered:\n%s\n%s\n%s", subj, text, html)
	}
}

// A crash between sending an alert and recording it (simulated: the claim
// is written, the outcome never) re-sends it once when the claim is stale,
// and never again.
func TestCrashResendsAtMostOnce(t *testing.T) {
	ctx := context.Background()
	var now atomic.Int64 // the ledger's clock, read by its writer goroutine
	now.Store(time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC).UnixNano())
	l, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "payrun.db"), ledger.Options{Clock: func() time.Time { return time.Unix(0, now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := alerttest.StartHook(t)
	n, err := alert.New(alert.Config{WebhookURL: h.Srv.URL}, l, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	// The crashed process: claimed (and, we must assume, sent), never recorded.
	if ok, err := l.ClaimAlert(ctx, ledger.AlertClaim{Key: "flip:c", Channel: "webhook", Kind: "flip", StaleAfter: time.Minute}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if res := n.Send(ctx, testMessage("flip:c")); res.Sent != 0 {
		t.Fatalf("a fresh claim was re-sent at once: %+v", res)
	}
	now.Add(int64(11 * time.Minute))
	if res := n.Send(ctx, testMessage("flip:c")); res.Sent != 1 {
		t.Fatalf("the stale claim was not re-sent: %+v", res)
	}
	now.Add(int64(time.Hour))
	if res := n.Send(ctx, testMessage("flip:c")); res.Sent != 0 || len(h.Got()) != 1 {
		t.Fatalf("re-sent again: %+v, posts %d", res, len(h.Got()))
	}
}

// A balance difference is alerted once; the same difference found by the
// next reconcile is not sent again, a new one is.
func TestBalanceDifferenceAlertedOnce(t *testing.T) {
	h := alerttest.StartHook(t)
	n, _ := newNotifier(t, alert.Config{WebhookURL: h.Srv.URL}, nil)
	ctx := context.Background()
	rep := reconcile.ReconcileReport{Balances: []reconcile.BalanceCheck{
		{Currency: "USD", Expected: decimal.RequireFromString("100.00"), Actual: decimal.RequireFromString("90.00"), Difference: decimal.RequireFromString("-10.00")},
		{Currency: "EUR", Expected: decimal.RequireFromString("5.00"), Actual: decimal.RequireFromString("5.00")},
	}}
	n.Reconciled(ctx, rep)
	n.Reconciled(ctx, rep)
	if got := h.Got(); len(got) != 1 || !strings.Contains(string(got[0]), `"kind":"balance"`) || !strings.Contains(string(got[0]), "-10.00") {
		t.Fatalf("posts %q; want one USD balance alert", got)
	}
	rep.Balances[0].Actual, rep.Balances[0].Difference = decimal.RequireFromString("80.00"), decimal.RequireFromString("-20.00")
	n.Reconciled(ctx, rep)
	if len(h.Got()) != 2 {
		t.Fatalf("a new difference was not alerted")
	}
}
