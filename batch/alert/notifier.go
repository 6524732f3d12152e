package alert

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/ledger"
)

// Notifier sends alerts on the configured channels, each once per channel
// as the ledger records it.
type Notifier struct {
	Config  Config
	Ledger  *ledger.Ledger
	Email   *Email   // nil: no email
	Webhook *Webhook // nil: no webhook
	Log     zerolog.Logger
	// Backoff are the waits between tries of one send; default 1s, 5s, 20s
	// (four tries).
	Backoff []time.Duration
}

// New returns a Notifier for c, or nil when no channel is configured.
func New(c Config, l *ledger.Ledger, log zerolog.Logger) (*Notifier, error) {
	if !c.Enabled() {
		return nil, nil
	}
	e, err := NewEmail(c)
	if err != nil {
		return nil, err
	}
	return &Notifier{Config: c, Ledger: l, Email: e, Webhook: NewWebhook(c), Log: log}, nil
}

// Result counts what one Send did per channel.
type Result struct {
	Sent    int // sends delivered
	Skipped int // sent before (or being sent by another process)
	Failed  int // every try failed; recorded, tried again next time
	// Errs are the failures' texts (no secrets).
	Errs []string
}

func (r *Result) add(o Result) {
	r.Sent += o.Sent
	r.Skipped += o.Skipped
	r.Failed += o.Failed
	r.Errs = append(r.Errs, o.Errs...)
}

// Send delivers msg on every channel that applies and has not had it yet.
// It never fails the caller: failures are logged and counted.
func (n *Notifier) Send(ctx context.Context, msg Message) Result {
	var res Result
	if n == nil {
		return res
	}
	if n.Email != nil {
		rcpts := msg.To
		if len(rcpts) == 0 {
			rcpts = n.Config.Recipients(msg.Kind)
		}
		if len(rcpts) > 0 {
			res.add(n.once(ctx, msg, "email", strings.Join(rcpts, ", "), func(ctx context.Context) error {
				return n.Email.Send(ctx, msg, rcpts)
			}))
		}
	}
	if n.Webhook != nil && !msg.EmailOnly {
		res.add(n.once(ctx, msg, "webhook", "webhook", func(ctx context.Context) error {
			return n.Webhook.Send(ctx, msg)
		}))
	}
	return res
}

// once claims msg on channel in the ledger, sends it with retries and
// records the outcome.
func (n *Notifier) once(ctx context.Context, msg Message, channel, rcpts string, send func(context.Context) error) Result {
	log := n.Log.With().Str("alert", msg.Key).Str("channel", channel).Logger()
	ok, err := n.Ledger.ClaimAlert(ctx, ledger.AlertClaim{Key: msg.Key, Channel: channel, Kind: string(msg.Kind),
		ClientTransferID: msg.ClientTransferID, Recipients: rcpts, StaleAfter: staleClaim})
	if err != nil {
		log.Error().Err(err).Msg("alert not sent: the ledger could not record it")
		return Result{Failed: 1, Errs: []string{err.Error()}}
	}
	if !ok {
		return Result{Skipped: 1}
	}
	backoff := n.Backoff
	if backoff == nil {
		backoff = []time.Duration{time.Second, 5 * time.Second, 20 * time.Second}
	}
	for try := 0; ; try++ {
		err = send(ctx)
		if err == nil || try >= len(backoff) || ctx.Err() != nil {
			break
		}
		log.Warn().Err(err).Int("try", try+1).Msg("alert not delivered; trying again")
		select {
		case <-ctx.Done():
		case <-time.After(backoff[try]):
		}
	}
	// The outcome is recorded even when ctx ended: it decides whether the
	// next run sends again.
	if ferr := n.Ledger.FinishAlert(context.WithoutCancel(ctx), msg.Key, channel, err); ferr != nil {
		log.Error().Err(ferr).Msg("record alert")
	}
	if err != nil {
		log.Error().Err(err).Msg("alert not delivered; the next run tries again")
		return Result{Failed: 1, Errs: []string{fmt.Sprintf("%s: %v", channel, err)}}
	}
	log.Info().Str("kind", string(msg.Kind)).Msg("alert sent")
	return Result{Sent: 1}
}
