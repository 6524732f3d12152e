package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/payrun/payrun/masspay"
)

// webhookQueue delivers status callbacks to Config.WebhookURL, signed with
// masspay.SignPayload, retrying on failures, and injecting the duplicate and
// reorder faults.
type webhookQueue struct {
	s       *Sandbox
	url     string
	secret  []byte
	client  *http.Client
	sendMu  sync.Mutex // one deliverer at a time, so a flush waits for the worker
	mu      sync.Mutex
	pending []*delivery
	held    []*delivery // held back by the reorder fault until a later event goes out
	wake    chan struct{}
	done    chan struct{}
	stopped sync.Once
	wg      sync.WaitGroup
}

type delivery struct {
	body     []byte
	attempts int
	next     time.Time // real time of the next attempt
}

func newWebhookQueue(s *Sandbox) *webhookQueue {
	q := &webhookQueue{s: s, url: s.cfg.WebhookURL, secret: []byte(s.cfg.WebhookSecret),
		client: &http.Client{Timeout: 10 * time.Second}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if q.url != "" {
		q.wg.Add(1)
		go q.loop()
	}
	return q
}

// emit queues ev. Callers hold s.mu; delivery happens elsewhere.
func (q *webhookQueue) emit(ev masspay.WebhookEvent) {
	if q.url == "" {
		return
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	q.mu.Lock()
	q.pending = append(q.pending, &delivery{body: body})
	q.mu.Unlock()
}

func (q *webhookQueue) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *webhookQueue) stop() {
	q.stopped.Do(func() { close(q.done) })
	q.wg.Wait()
}

func (q *webhookQueue) loop() {
	defer q.wg.Done()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-q.done; cancel() }()
	for {
		select {
		case <-q.done:
			return
		case <-q.wake:
		case <-tick.C:
		}
		q.deliverDue(ctx, false)
	}
}

// take removes and returns the deliveries due now, in the order they will be
// sent. Delivery is in order: while the oldest event waits for its retry,
// the ones behind it wait too. With the reorder fault on, some are held back
// and sent after a later one; force sends everything, held ones included.
func (q *webhookQueue) take(force bool) []*delivery {
	reorder := q.s.Faults().WebhookReorder
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) > 0 && !force && q.pending[0].next.After(time.Now()) {
		return nil
	}
	due := q.pending
	q.pending = nil
	if !reorder {
		due = append(q.held, due...)
		q.held = nil
		return due
	}
	var out []*delivery
	for _, d := range due {
		if d.attempts == 0 && q.s.roll(func(Faults) float64 { return 0.5 }) {
			q.held = append(q.held, d)
			continue
		}
		out = append(out, d)
	}
	if len(out) > 0 || force {
		out = append(out, q.held...)
		q.held = nil
	}
	return out
}

// deliverDue sends what is due. On a failure it stops and puts the failed
// delivery and everything behind it back at the head of the queue, with a
// backoff, so that retries keep the order.
func (q *webhookQueue) deliverDue(ctx context.Context, force bool) error {
	q.sendMu.Lock()
	defer q.sendMu.Unlock()
	batch := q.take(force)
	for i, d := range batch {
		if err := q.send(ctx, d); err != nil {
			d.attempts++
			d.next = time.Now().Add(time.Duration(1<<min(d.attempts, 6)) * 100 * time.Millisecond)
			q.mu.Lock()
			q.pending = append(append([]*delivery(nil), batch[i:]...), q.pending...)
			q.mu.Unlock()
			return err
		}
		if q.s.roll(func(f Faults) float64 { return f.WebhookDuplicateRate }) {
			q.send(ctx, d)
		}
	}
	return nil
}

// send POSTs one delivery. The signature uses real time, not the sandbox
// clock, because receivers check it against their own clock.
func (q *webhookQueue) send(ctx context.Context, d *delivery) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.url, bytes.NewReader(d.body))
	if err != nil {
		return fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(masspay.SignatureHeader, masspay.SignPayload(q.secret, time.Now(), d.body))
	resp, err := q.client.Do(req)
	if err != nil {
		q.s.log.Debug().Err(err).Msg("webhook delivery failed")
		return fmt.Errorf("deliver webhook: %w", err)
	}
	resp.Body.Close()
	q.s.log.Debug().Int("status", resp.StatusCode).Msg("webhook delivered")
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("deliver webhook: receiver answered %d", resp.StatusCode)
	}
	return nil
}

// FlushWebhooks delivers every pending webhook now, held-back ones included,
// retrying failures a few times. It returns an error when some delivery
// still failed; those stay queued for the background retries.
func (s *Sandbox) FlushWebhooks(ctx context.Context) error {
	if s.hooks.url == "" {
		return nil
	}
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = s.hooks.deliverDue(ctx, true)
		s.hooks.mu.Lock()
		left := len(s.hooks.pending) + len(s.hooks.held)
		s.hooks.mu.Unlock()
		if left == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10<<attempt) * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("flush webhooks: %w", err)
	}
	return nil
}

// payoutEvent emits the webhook of a payout status change at sandbox time at.
func (s *Sandbox) payoutEvent(p *payout, at time.Time) {
	sa, da, fee, rate := p.SourceAmount, p.DestinationAmount, p.Fee, p.ExchangeRate
	s.hooks.emit(masspay.WebhookEvent{EventType: masspay.EventPayout, Status: p.Status, StatusReason: p.StatusReason,
		UserToken: p.userToken, PayoutToken: p.PayoutToken, ClientTransferID: p.ClientTransferID,
		SourceCurrencyCode: p.SourceCurrencyCode, DestinationCurrencyCode: p.DestinationCurrencyCode,
		SourceAmount: &sa, DestinationAmount: &da, Fee: &fee, ExchangeRate: &rate,
		CountryCode: p.CountryCode, PayerName: p.PayerName, EventTime: stamp(at)})
}

// loadEvent emits the webhook of a load status change at sandbox time at.
func (s *Sandbox) loadEvent(l *load, at time.Time) {
	amt := l.amount
	s.hooks.emit(masspay.WebhookEvent{EventType: masspay.EventLoad, Status: l.status, UserToken: l.userToken,
		LoadToken: l.token, ClientLoadID: l.clientID, WalletToken: l.walletToken, Amount: &amt, Notes: l.notes,
		TimeOfLoad: stamp(l.created), SourceCurrencyCode: l.currency, EventTime: stamp(at)})
}
