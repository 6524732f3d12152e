package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/alert"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
)

// alertBudget bounds the time alerts may take after a run, a reconcile or a
// flip: a mail server that hangs must not hold cron, and what is not sent
// in time is sent by the next run.
const alertBudget = 2 * time.Minute

// alertBackoff, when set, replaces the channels' waits between tries
// (tests).
var alertBackoff []time.Duration

// notifier builds the alert sender from the configuration (payrun.toml,
// environment; kycNotice, when set, overrides kyc_notice). It is nil when no
// channel is configured. A configuration mistake is reported and alerts are
// off: alerts never stop or fail a run that moves money.
func (m *Main) notifier(l *ledger.Ledger, log zerolog.Logger, kycNotice string) *alert.Notifier {
	getenv := m.Getenv
	if kycNotice != "" {
		getenv = func(k string) string {
			if k == alert.Env.KYCNotice {
				return kycNotice
			}
			return m.Getenv(k)
		}
	}
	c, err := alert.FromEnv(getenv)
	var n *alert.Notifier
	if err == nil {
		n, err = alert.New(c, l, log)
	}
	if n != nil && alertBackoff != nil {
		n.Backoff = alertBackoff
	}
	if err != nil {
		log.Error().Err(err).Msg("alerts off")
		fmt.Fprintf(m.humanOut(), "Alerts are off: %v\n", err)
		return nil
	}
	return n
}

// alertRun sends a finished run's digest within alertBudget, and never
// returns an error: the run's exit code is about money, not mail.
func (m *Main) alertRun(ctx context.Context, n *alert.Notifier, info alert.RunInfo) {
	if n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertBudget)
	defer cancel()
	m.alertSays(n.RunEnded(ctx, info), "")
}

// alertAborted tells finance that a run nobody watches (cron, the inbox)
// stopped before its end, within alertBudget.
func (m *Main) alertAborted(ctx context.Context, n *alert.Notifier, info alert.AbortInfo) {
	if n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertBudget)
	defer cancel()
	m.alertSays(n.RunAborted(ctx, info), "")
}

// alertFunds tells finance which currencies MassPay stopped for want of
// funds in run runID, within alertBudget.
func (m *Main) alertFunds(ctx context.Context, n *alert.Notifier, runID int64, sheet string, halted map[string]string, after ledger.Balances) {
	if n == nil || len(halted) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertBudget)
	defer cancel()
	curs := make([]string, 0, len(halted))
	for c := range halted {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	for _, c := range curs {
		bal := ""
		if b, ok := after[c]; ok {
			bal = b.StringFixed(decimalsFor(c)) + " " + c
		}
		m.alertSays(n.FundsShort(ctx, alert.FundsInfo{RunID: runID, Sheet: sheet, Currency: c, Balance: bal}), "")
	}
}

// alertKYC emails the held payees of run runID their upload links (as
// kyc_notice says), within alertBudget.
func (m *Main) alertKYC(ctx context.Context, n *alert.Notifier, runID int64) {
	if n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertBudget)
	defer cancel()
	m.alertSays(n.KYCNotices(ctx, runID), "KYC notices")
}

func (m *Main) alertSays(res alert.Result, what string) {
	if what == "" {
		what = "Alerts"
	}
	if res.Failed > 0 {
		fmt.Fprintf(m.humanOut(), "%s: %d not delivered (recorded; the next run tries again).\n", what, res.Failed)
	}
	if res.Sent > 0 {
		fmt.Fprintf(m.humanOut(), "%s: %d sent.\n", what, res.Sent)
	}
}

// AlertsCommand is `payrun alerts test`: one alert of each kind to the
// configured channels, so a new configuration is checked before a real
// flip at 3 a.m. needs it.
type AlertsCommand struct {
	logs       logFlags
	ledgerPath string
	sandbox    bool
}

// Run sends the test alerts; it exits 1 if a channel failed.
func (c *AlertsCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("alerts", "test [flags]")
	c.logs.register(fs)
	ledgerFlag(fs, &c.ledgerPath) // where the test alerts are recorded
	sandboxLedgerFlag(fs, &c.sandbox)
	if err := m.parseFlags(fs, args, "payrun alerts test"); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "test" {
		return &UsageError{Err: errors.New("the alerts command has one action: test"), Hint: "payrun alerts test"}
	}
	log, closeLog, err := m.logger(c.logs)
	if err != nil {
		return err
	}
	defer closeLog()
	cfg, err := alert.FromEnv(m.Getenv)
	if err != nil {
		return &UsageError{Err: err, Hint: "payrun config"}
	}
	if !cfg.Enabled() {
		return &UsageError{Err: errors.New("no alert channel configured"), Hint: "set smtp_url (with alert_from, alert_to) or alert_webhook_url in payrun.toml"}
	}
	l, err := ledger.Open(ctx, m.defaultLedger(c.ledgerPath, c.sandbox), ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	defer l.Close()
	n, err := alert.New(cfg, l, log)
	if err != nil {
		return &UsageError{Err: err, Hint: "payrun config"}
	}
	stamp := time.Now().UTC().Format("20060102T150405.000000000")
	one := decimal.RequireFromString("125.16")
	msgs := []alert.Message{
		{Kind: alert.KindRun, Subject: "payrun TEST: run 0: 2 rows need a person",
			Text: "This is a test of payrun's run digest.\n\nRows needing a person:\n- line 2, test-1 (Ana Test), 10.00 USD: NEEDS_ACTION KYC hold\n- line 3, test-2 (Bo Test), 20.00 USD: FAILED refused\n"},
		alert.FlipMessage(results.Flip{ClientTransferID: "test-flip", Token: "pay_test", Was: "COMPLETED", Now: "CANCELLED",
			SourceAmount: decimal.NullDecimal{Decimal: one, Valid: true}, SourceCurrency: "USD", DetectedAt: time.Now(), ActionNeeded: "This is a test flip."}),
		alert.BalanceMessage(reconcile.BalanceCheck{Currency: "USD", Expected: one, Actual: one.Add(decimal.NewFromInt(1)), Difference: decimal.NewFromInt(1)}),
		alert.AbortMessage(alert.AbortInfo{RunID: 0, Sheet: "test.xlsx", Reason: "this is a test of the stopped-run alert"}, nil),
		alert.FundsMessage(alert.FundsInfo{RunID: 0, Sheet: "test.xlsx", Currency: "USD", Balance: "12.34 USD"}),
		alert.ApprovalMessage(alert.ApprovalInfo{PlanID: 0, Sheet: "test.xlsx", PreparedBy: "test", Rows: 2, Totals: "30.00 USD"}),
	}
	if payee, compliance := cfg.KYCTo(); payee || compliance {
		tpl, err := alert.LoadKYCTemplate(cfg)
		if err != nil {
			return &UsageError{Err: err, Hint: "check kyc_template"}
		}
		subj, text, html, err := tpl.Render(alert.KYCData{CompanyName: firstNonEmpty(cfg.CompanyName, "We"), FirstName: "Ana", LastName: "Test",
			Amount: "10.00", Currency: "USD", ClientTransferID: "test-kyc", Link: "https://example.com/kyc-upload-test"})
		if err != nil {
			return &UsageError{Err: err, Hint: "check kyc_template"}
		}
		to := cfg.ComplianceTo
		if len(to) == 0 {
			to = cfg.Recipients(alert.KindRun)
		}
		msgs = append(msgs, alert.Message{Kind: alert.KindKYC, Subject: "TEST: " + subj, Text: text, HTML: html, To: to, EmailOnly: true})
	}
	failed := 0
	for _, msg := range msgs {
		msg.Key = "test:" + string(msg.Kind) + ":" + stamp
		if msg.Kind != alert.KindRun && msg.Kind != alert.KindKYC {
			msg.Subject = "TEST " + msg.Subject
		}
		res := n.Send(ctx, msg)
		fmt.Fprintf(m.Stdout, "%-8s sent %d, failed %d\n", msg.Kind, res.Sent, res.Failed)
		for _, e := range res.Errs {
			fmt.Fprintf(m.Stdout, "  %s\n", e)
		}
		failed += res.Failed
	}
	if failed > 0 {
		return Attention()
	}
	return nil
}
