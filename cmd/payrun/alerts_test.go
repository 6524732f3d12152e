package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/alert/alerttest"
	"github.com/payrun/payrun/masspay/sandbox"
)

// TestInboxAlertsDemoSheetOnce is the done-when: the demo sheet run
// by payrun inbox --once under --sandbox, with email and webhook channels
// configured, delivers one digest of the rows needing a person (by email
// and webhook), the KYC links to the two held payees, and nothing more on a
// second tick; the run's exit code is what it is without alerts.
func TestInboxAlertsDemoSheetOnce(t *testing.T) {
	addr, box, caFile := alerttest.StartSMTPWithCAFile(t, false, "", "")
	hook := alerttest.StartHook(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "incoming")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	copySample(t, filepath.Join(in, "march.xlsx"))
	env := map[string]string{
		"PAYRUN_SMTP_URL": "smtp://" + addr, "PAYRUN_SMTP_CA_FILE": caFile, "PAYRUN_ALERT_FROM": "payrun@acme.example",
		"PAYRUN_ALERT_TO": "finance@acme.example", "PAYRUN_ALERT_WEBHOOK_URL": hook.Srv.URL + "/hooks/T0KEN",
		"PAYRUN_KYC_NOTICE": "payee", "PAYRUN_COMPANY_NAME": "Acme Ltd",
	}
	code, out, errs := runIn(t, env, "inbox", dir, "--sandbox", "--once", "--settle", "50ms")
	if code != ExitAttention {
		t.Fatalf("inbox: exit %d, want 1 (rows need a person)\n%s%s", code, out, errs)
	}
	msgs := box.All()
	var digests, kyc []alerttest.Received
	for _, m := range msgs {
		if !m.TLS || m.From != "payrun@acme.example" {
			t.Errorf("message from %q over TLS %v", m.From, m.TLS)
		}
		switch {
		case strings.Contains(m.Data, "X-Payrun-Alert: run"):
			digests = append(digests, m)
		case strings.Contains(m.Data, "X-Payrun-Alert: kyc"):
			kyc = append(kyc, m)
		default:
			t.Errorf("unexpected message:\n%s", m.Data)
		}
	}
	if len(digests) != 1 || len(kyc) != 2 {
		t.Fatalf("got %d digests and %d KYC notices, want 1 and 2\n%s", len(digests), len(kyc), errs)
	}
	d := digests[0]
	if strings.Join(d.To, ",") != "finance@acme.example" {
		t.Errorf("digest to %v", d.To)
	}
	for _, want := range []string{"4 rows need a person", "Rows needing a person:", "Top reasons:", "failed/", "march.results.xlsx", "740.00 USD", "fees 102.40", "USD: paid"} {
		if !strings.Contains(unfold(d.Data), want) {
			t.Errorf("digest lacks %q:\n%s", want, d.Data)
		}
	}
	var payees []string
	for _, k := range kyc {
		payees = append(payees, k.To...)
		body := unfold(k.Data)
		if !strings.Contains(body, "Acme Ltd") || !strings.Contains(body, "text/html") || !strings.Contains(body, "http") {
			t.Errorf("KYC notice lacks company, HTML part or link:\n%s", k.Data)
		}
	}
	sort.Strings(payees)
	if len(payees) != 2 || payees[0] == payees[1] || strings.Contains(payees[0], "acme.example") {
		t.Errorf("KYC notices went to %v; want the two held payees", payees)
	}
	posts := hook.Got()
	if len(posts) != 1 {
		t.Fatalf("webhook got %d posts, want the digest only", len(posts))
	}
	var body struct{ Text, Kind string }
	if err := json.Unmarshal(posts[0], &body); err != nil || body.Kind != "run" || !strings.Contains(body.Text, "4 rows need a person") {
		t.Errorf("webhook post %s (%v)", posts[0], err)
	}
	if strings.Contains(out+errs, "T0KEN") {
		t.Errorf("the webhook token was printed:\n%s%s", out, errs)
	}

	// The Needs action sheet says which links were emailed.
	files, _ := filepath.Glob(filepath.Join(dir, "failed", "*", "march.results.xlsx"))
	if len(files) != 1 {
		t.Fatalf("results workbook: %v", files)
	}
	wb, err := excelize.OpenFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	rows, err := wb.GetRows("Needs action")
	wb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(fmt.Sprint(rows), "link emailed to payee at "); n != 2 {
		t.Errorf("Needs action sheet names %d emailed links, want 2:\n%v\n%s", n, rows, errs)
	}

	// A second tick: nothing new to pay, nothing new to say.
	if code, out, errs := runIn(t, env, "inbox", dir, "--sandbox", "--once", "--settle", "50ms"); code != 0 {
		t.Fatalf("second tick: exit %d\n%s%s", code, out, errs)
	}
	time.Sleep(50 * time.Millisecond)
	if n, p := len(box.All()), len(hook.Got()); n != 3 || p != 1 {
		t.Errorf("after the second tick: %d emails, %d posts; want 3 and 1", n, p)
	}
}

// unfold undoes quoted-printable soft line breaks so a test can search the
// text.
func unfold(s string) string {
	return strings.NewReplacer("=\r\n", "", "=\n", "", "=3D", "=").Replace(s)
}

// TestRunAlertsFailingChannelsKeepExitCode: with the SMTP server down and
// the webhook answering 500, payrun run still exits 1 for its rows needing
// a person (not for the alerts), says the alerts were not delivered, and
// the next run of the sheet delivers them once the channels are back.
func TestRunAlertsFailingChannelsKeepExitCode(t *testing.T) {
	alertBackoff = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	t.Cleanup(func() { alertBackoff = nil })
	hook := alerttest.StartHook(t)
	hook.Fail.Store(1000)
	dir := t.TempDir()
	sheet := copySample(t, filepath.Join(dir, "march.xlsx"))
	env := map[string]string{
		"PAYRUN_SMTP_URL": "smtp://127.0.0.1:1", "PAYRUN_ALERT_FROM": "payrun@acme.example", "PAYRUN_ALERT_TO": "finance@acme.example",
		"PAYRUN_ALERT_WEBHOOK_URL": hook.Srv.URL + "/hooks/T0KEN", "PAYRUN_LEDGER": filepath.Join(dir, "payrun.db"),
	}
	code, out, errs := runIn(t, env, "run", "--sandbox", "--yes", sheet)
	if code != ExitAttention {
		t.Fatalf("run: exit %d, want 1\n%s%s", code, out, errs)
	}
	if !strings.Contains(out+errs, "Alerts: 2 not delivered") || hook.Tries.Load() != 3 {
		t.Errorf("want both channels failed after 3 tries each; webhook tries %d\n%s", hook.Tries.Load(), errs)
	}
	if strings.Contains(out+errs, "T0KEN") {
		t.Errorf("the webhook token was printed:\n%s%s", out, errs)
	}

	// The channels are back: the re-run (same rows, same outcome) sends the
	// digest it could not send before, once.
	addr, box, caFile := alerttest.StartSMTPWithCAFile(t, false, "", "")
	hook.Fail.Store(0)
	env["PAYRUN_SMTP_URL"], env["PAYRUN_SMTP_CA_FILE"] = "smtp://"+addr, caFile
	for i := 0; i < 2; i++ {
		if code, out, errs := runIn(t, env, "run", "--sandbox", "--yes", sheet); code != ExitAttention {
			t.Fatalf("re-run: exit %d\n%s%s", code, out, errs)
		}
	}
	if n, p := len(box.All()), len(hook.Got()); n != 1 || p != 1 {
		t.Errorf("after two re-runs: %d emails, %d posts; want the digest once on each", n, p)
	}
}

// TestConfigHidesAlertSecrets: payrun config shows the alert settings but
// neither the SMTP user nor the webhook's token-bearing path.
func TestConfigHidesAlertSecrets(t *testing.T) {
	env := map[string]string{"PAYRUN_SMTP_URL": "smtp://mailer@mail.example.com:587",
		"PAYRUN_ALERT_WEBHOOK_URL": "https://hooks.slack.com/services/T00/B00/XXSECRETXX", "PAYRUN_ALERT_TO": "ops@example.com"}
	code, out, errs := runIn(t, env, "config")
	if code != 0 {
		t.Fatalf("config: exit %d\n%s%s", code, out, errs)
	}
	for _, secret := range []string{"XXSECRETXX", "mailer@"} {
		if strings.Contains(out+errs, secret) {
			t.Errorf("payrun config shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"smtp://mail.example.com:587", "https://hooks.slack.com/", "ops@example.com", "kyc_notice"} {
		if !strings.Contains(out, want) {
			t.Errorf("payrun config lacks %q:\n%s", want, out)
		}
	}
}

// TestAlertsTestSendsOneOfEach: payrun alerts test sends a run, flip,
// balance and stopped-run alert to both channels and a KYC sample to
// compliance.
func TestAlertsTestSendsOneOfEach(t *testing.T) {
	addr, box, caFile := alerttest.StartSMTPWithCAFile(t, true, "", "")
	hook := alerttest.StartHook(t)
	dir := t.TempDir()
	env := map[string]string{"PAYRUN_SMTP_URL": "smtps://" + addr, "PAYRUN_SMTP_CA_FILE": caFile, "PAYRUN_ALERT_FROM": "payrun@acme.example",
		"PAYRUN_ALERT_TO": "ops@acme.example", "PAYRUN_ALERT_WEBHOOK_URL": hook.Srv.URL + "/x", "PAYRUN_KYC_NOTICE": "compliance",
		"PAYRUN_KYC_COMPLIANCE_TO": "kyc@acme.example", "PAYRUN_LEDGER": filepath.Join(dir, "payrun.db")}
	code, out, errs := runIn(t, env, "alerts", "test")
	if code != 0 {
		t.Fatalf("alerts test: exit %d\n%s%s", code, out, errs)
	}
	if n, p := len(box.All()), len(hook.Got()); n != 7 || p != 6 {
		t.Errorf("%d emails, %d posts; want 7 (run, flip, balance, aborted, funds, approval, kyc) and 6\n%s", n, p, out)
	}
}

// TestWebhookReceiverAlertsFlipOnce: the sandbox's .16 payout flips
// COMPLETED -> CANCELLED; payrun webhook, receiving MassPay's callbacks,
// sends exactly one flip alert, and a reconcile afterwards sends none.
func TestWebhookReceiverAlertsFlipOnce(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	secretFile := filepath.Join(dir, "hook.secret")
	os.WriteFile(secretFile, []byte("whsec-test"), 0o600)
	clock := sandbox.NewManualClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.Start(sandbox.Config{APIKey: "sandbox-key", Clock: clock, Seed: 7, WebhookURL: "http://" + listen + "/", WebhookSecret: "whsec-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	sheet := filepath.Join(dir, "march.csv")
	os.WriteFile(sheet, []byte(`client_transfer_id,internal_user_id,first_name,last_name,email,country,amount,method,destination_currency,delivery_type,attr:BankAccountNumber,attr:BankRoutingNumber
r-flip,u-3,Cy,Diaz,cy@example.com,USA,300.16,payout,USD,BANK_DEPOSIT,323456789,021000021
`), 0o600)
	hook := alerttest.StartHook(t)
	env := map[string]string{"MASSPAY_BASE_URL": sb.URL(), "MASSPAY_API_KEY": "sandbox-key", "PAYRUN_LEDGER": filepath.Join(dir, "payrun.db"),
		"PAYRUN_ALERT_WEBHOOK_URL": hook.Srv.URL + "/hooks/T0KEN"}
	if code, out, errs := runIn(t, env, "run", "--yes", sheet); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errb syncBuffer
	go func() {
		m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
		done <- m.Run(ctx, []string{"webhook", "--listen", listen, "--secret-file", secretFile})
	}()
	for _, step := range []time.Duration{6 * time.Minute, 30 * time.Minute} {
		time.Sleep(300 * time.Millisecond)
		sb.Advance(step)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(hook.Got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("webhook: %v\n%s", err, errb.String())
	}
	if got := hook.Got(); len(got) != 1 || !strings.Contains(string(got[0]), `"kind":"flip"`) {
		t.Fatalf("after the flip: %d posts %q; want one flip alert\n%s", len(got), got, errb.String())
	}
	// Reconcile learns nothing new: no second alert for the same flip.
	runIn(t, env, "reconcile", "--run", "1")
	if n := len(hook.Got()); n != 1 {
		t.Errorf("after reconcile: %d posts, want still 1", n)
	}
}

// TestRunAbortedUnderCronAlertsOnce: a run under cron (--yes) that stops on
// its own before its end (here MassPay starts refusing the API key part way
// through, as after a key rotation) exits 3 and alerts once, naming the run
// and what stopped it; running it again with the key still refused sends
// the new run's alert, never a second one for the first run.
func TestRunAbortedUnderCronAlertsOnce(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Config{APIKey: "sandbox-key", Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	target, _ := url.Parse("http://" + sb.Addr())
	var requests atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The plan and the first rows' calls pass; then the key is
		// refused, as MassPay does after the key was rotated.
		if r.Method == http.MethodPost {
			requests.Add(1)
		}
		if requests.Load() > 10 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"title":"Unauthorized","message":"invalid API key","code":401}`)
			return
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	defer front.Close()
	hook := alerttest.StartHook(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("sandbox-key"), 0o600)
	sheet := copySample(t, filepath.Join(dir, "march.xlsx"))
	env := map[string]string{"PAYRUN_ALERT_WEBHOOK_URL": hook.Srv.URL + "/hooks/T0KEN", "PAYRUN_LEDGER": filepath.Join(dir, "payrun.db")}
	args := []string{"run", "--yes", "--env", "staging", "--base-url", front.URL + "/v1.0.0/payout", "--api-key-file", keyFile, sheet}
	code, out, errs := runIn(t, env, args...)
	if code != ExitAborted {
		t.Fatalf("run: exit %d, want 3 (the key was refused part way)\n%s%s", code, out, errs)
	}
	got := hook.Got()
	if len(got) != 1 || !strings.Contains(string(got[0]), "Run 1 of") || !strings.Contains(string(got[0]), "stopped before its end") {
		t.Fatalf("want one stopped-run alert for run 1, got %d: %+v\n%s", len(got), got, errs)
	}
	if strings.Contains(string(got[0]), "sandbox-key") || strings.Contains(out+errs, "T0KEN") {
		t.Errorf("a secret reached the alert or the output")
	}
	code, _, _ = runIn(t, env, args...)
	if code != ExitAborted {
		t.Fatalf("second run: exit %d, want 3", code)
	}
	for _, g := range hook.Got()[1:] {
		if strings.Contains(string(g), "Run 1 of") {
			t.Errorf("run 1's stop was alerted twice:\n%s", g)
		}
	}
}

// TestFundsShortAlertedOncePerRunAndCurrency: MassPay answering
// insufficient funds stops new rows in that currency; one alert says so,
// naming the currency, and the run's digest does not replace it.
func TestFundsShortAlertedOncePerRunAndCurrency(t *testing.T) {
	sb, err := sandbox.Start(sandbox.Config{APIKey: "sandbox-key", Seed: 7,
		Balances: map[string]decimal.Decimal{"USD": decimal.RequireFromString("5000"), "EUR": decimal.RequireFromString("250000")}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	hook := alerttest.StartHook(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("sandbox-key"), 0o600)
	sheet := copySample(t, filepath.Join(dir, "march.xlsx"))
	env := map[string]string{"PAYRUN_ALERT_WEBHOOK_URL": hook.Srv.URL + "/hooks/T0KEN", "PAYRUN_LEDGER": filepath.Join(dir, "payrun.db")}
	code, out, errs := runIn(t, env, "run", "--yes", "--allow-partial", "--env", "staging", "--base-url", sb.URL(), "--api-key-file", keyFile, sheet)
	if code != ExitAttention {
		t.Fatalf("run: exit %d, want 1\n%s%s", code, out, errs)
	}
	var funds []string
	for _, g := range hook.Got() {
		if strings.Contains(string(g), "insufficient funds in") {
			funds = append(funds, string(g))
		}
	}
	if len(funds) != 1 || !strings.Contains(funds[0], "insufficient funds in USD") || !strings.Contains(funds[0], "Run 1 of") {
		t.Fatalf("want one funds alert for USD in run 1, got %d:\n%s\n%s", len(funds), strings.Join(funds, "\n"), errs)
	}
}

// TestPlanWaitingForApprovalAlerted: under require_approval, a recorded
// plan is a sheet waiting for an approver; one alert names the plan, who
// prepared it and the command an approver runs. Without require_approval
// nothing is sent.
func TestPlanWaitingForApprovalAlerted(t *testing.T) {
	hook := alerttest.StartHook(t)
	dir := t.TempDir()
	sheet := filepath.Join(dir, "march.csv")
	writeSheet(t, sheet, "MAR", 2)
	env := map[string]string{"PAYRUN_ALERT_WEBHOOK_URL": hook.Srv.URL + "/hooks/T0KEN", "PAYRUN_LEDGER": filepath.Join(dir, "payrun.db")}
	if code, out, errs := runIn(t, env, "plan", "--sandbox", "--as", "bob", sheet); code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	if n := len(hook.Got()); n != 0 {
		t.Fatalf("without require_approval: %d alerts, want none", n)
	}
	env["PAYRUN_REQUIRE_APPROVAL"] = "true"
	if code, out, errs := runIn(t, env, "plan", "--sandbox", "--as", "bob", sheet); code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	got := hook.Got()
	if len(got) != 1 || !strings.Contains(string(got[0]), "Plan 2 of march.csv, prepared by bob, waits for approval") ||
		!strings.Contains(string(got[0]), "payrun approve --ledger") {
		t.Fatalf("want one approval alert for plan 2, got %d:\n%s", len(got), got)
	}
}

// copySample writes the demo sheet (samples/monthly-freelancers.xlsx) to
// path, 0600, and returns path.
func copySample(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile("../../samples/monthly-freelancers.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
