package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/webhook"
)

// WebhookCommand receives MassPay's status callbacks into the ledger until
// interrupted. It records statuses only; it never pays.
type WebhookCommand struct {
	log        logFlags
	ledger     string
	listen     string
	secretFile string
	tolerance  time.Duration
	maxBody    int64
}

const webhookUsage = "--secret-file FILE [--listen ADDR] [--ledger FILE] [--tolerance 5m] [--max-body BYTES]"

// Run serves the receiver until ctx ends, then shuts down gracefully.
func (c *WebhookCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("webhook", webhookUsage)
	c.log.register(fs)
	ledgerFlag(fs, &c.ledger)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8787", "address to listen on (put TLS in front of it)")
	fs.StringVar(&c.secretFile, "secret-file", "", "file holding the webhook secret (env MASSPAY_WEBHOOK_SECRET_FILE)")
	fs.DurationVar(&c.tolerance, "tolerance", webhook.DefaultTolerance, "refuse signatures older or newer than this")
	fs.Int64Var(&c.maxBody, "max-body", webhook.DefaultMaxBodyBytes, "refuse bodies larger than this many bytes")
	if err := m.parseFlags(fs, args, "payrun webhook --secret-file /etc/payrun/webhook-secret"); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: "payrun webhook " + webhookUsage}
	}
	file := firstNonEmpty(c.secretFile, m.Getenv("MASSPAY_WEBHOOK_SECRET_FILE"))
	if file == "" {
		return &UsageError{Err: fmt.Errorf("no webhook secret"), Hint: "payrun webhook --secret-file FILE"}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("read webhook secret: %w", err), Hint: "payrun webhook --secret-file FILE"}
	}
	secret := []byte(strings.TrimSpace(string(b)))
	if len(secret) == 0 {
		return &UsageError{Err: fmt.Errorf("webhook secret file %s is empty", file), Hint: "put the webhook secret from MassPay's dashboard in the file"}
	}
	log, closeLog, err := m.logger(c.log)
	if err != nil {
		return err
	}
	defer closeLog()
	l, err := openExistingLedger(ctx, m.defaultLedger(c.ledger, false), false)
	if err != nil {
		return err
	}
	defer l.Close()

	app := reconcile.NewStatusApplier(l)
	// Flip alerts leave beside the answer to MassPay, which must not wait
	// on a mail server; shutdown waits for them (within alertBudget).
	notify := m.notifier(l, log, "")
	var alerts sync.WaitGroup
	defer alerts.Wait()
	h := &webhook.Handler{Secret: secret, Tolerance: c.tolerance, MaxBodyBytes: c.maxBody, Log: &log,
		OnEvent: func(ctx context.Context, ev masspay.WebhookEvent, received time.Time) error {
			out, err := app.Webhook(ctx, ev, received)
			if err != nil {
				return err
			}
			if out.Flip != nil {
				log.Warn().Str("client_transfer_id", out.Flip.ClientTransferID).Str("was", out.Flip.Was).
					Str("now", out.Flip.Now).Msg("FLIP: MassPay changed a settled payment")
				if notify != nil {
					flip := *out.Flip
					alerts.Go(func() {
						actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertBudget)
						defer cancel()
						notify.Flip(actx, flip)
					})
				}
			} else if out.Changed {
				log.Info().Str("client_transfer_id", ev.ClientTransferID+ev.ClientLoadID).Str("was", out.Was).
					Str("now", out.Now).Msg("status changed")
			}
			return nil
		}}
	return webhook.Serve(ctx, c.listen, h, 0, func(addr string) {
		log.Info().Str("addr", addr).Str("ledger", l.Path()).Msg("receiving MassPay webhooks")
	})
}
