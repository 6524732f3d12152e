package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// EventFlip is the ledger event kind of a flip: a payment MassPay reported
// settled one way (COMPLETED, CANCELLED) that later settled the other way.
// The results workbook's "Flips" sheet is built from these events.
const EventFlip ledger.EventKind = "flip"

// ErrUnknownPayment means status news named a payment the ledger does not
// hold (another system's payout, an autopay payout) or a token other than the
// row's. Such news is not applied.
var ErrUnknownPayment = errors.New("payment not in the ledger")

// ErrNoPayment means status news named a row payrun never paid or loaded (no
// payout or load token: FAILED, NEEDS_ACTION, not sent yet). The news is
// recorded as an EventUnmatched event and not applied: a status on a row
// that moved no money would read as a payment.
var ErrNoPayment = errors.New("row has no MassPay payment")

// ErrFutureNews means status news dated more than MaxNewsAhead after the
// receiver's clock. It is recorded as an EventUnmatched event and not
// applied: the compare-and-set on the event time would let it freeze the
// row's status until that date.
var ErrFutureNews = errors.New("status news dated in the future")

// MaxNewsAhead is how far ahead of the receiver's clock news may be dated:
// clocks drift, but not by more than this.
const MaxNewsAhead = 5 * time.Minute

// EventUnmatched is the ledger event kind of status news kept as evidence
// but not applied (ErrNoPayment, ErrFutureNews).
const EventUnmatched ledger.EventKind = "unmatched"

// StatusNews is one piece of news about MassPay's status of a payment, from a
// webhook or from reconcile asking MassPay.
type StatusNews struct {
	// TransferID is the row's client_transfer_id (a load's client_load_id).
	TransferID string
	// Token is the payout or load token the news is about; when set, it must
	// match the row's, so news about an abandoned quote never lands on the row.
	Token string
	// Status is MassPay's status (PENDING, PROCESSING, COMPLETED...).
	Status string
	// At is when the status took effect (a webhook's event_time) or, with
	// Observed, when MassPay was asked.
	At time.Time
	// Observed marks news that is MassPay's current status as of At (a poll),
	// rather than a change that took effect at At (a webhook). A poll is the
	// truth when it was made, so a poll made while the ledger's clock is
	// behind the last recorded change still moves a status forward.
	Observed bool
	// Source is the event kind recorded with the change: ledger.EventWebhook
	// or ledger.EventReconcile.
	Source ledger.EventKind
	// Data is optional JSON recorded with the event (the webhook body).
	Data json.RawMessage
	// Received is the receiver's clock when the news came in; news dated
	// more than MaxNewsAhead after it is refused. Zero: the applier's Clock.
	Received time.Time
}

// StatusOutcome is what applying one piece of news did.
type StatusOutcome struct {
	// Changed is true when the row's later status moved.
	Changed bool
	// Was and Now are the row's status before and after.
	Was, Now string
	// Flip is set when this news revealed a flip not recorded before: the
	// status moved between COMPLETED (or READY_FOR_PICKUP) and CANCELLED, or a
	// late, older piece of news showed the row had been settled the other way.
	Flip *results.Flip
}

// StatusApplier applies status news to the ledger. It is the only path by
// which reconcile and the webhook receiver touch a row's MassPay status, so
// both get the same rules: idempotent (the same news twice changes nothing),
// never backwards in time (a compare-and-set on the row's later_status_at:
// older news is not applied), never a payment (only later_status,
// later_status_at and events are written, never the row's State or the
// status the runner recorded), never on a row without a MassPay payment,
// never from the future (more than MaxNewsAhead), and every flip recorded
// exactly once as an EventFlip event.
//
// A StatusApplier is safe for concurrent use; news about one row is applied
// one at a time. Its zero value is not usable: set Ledger.
type StatusApplier struct {
	Ledger *ledger.Ledger
	// Clock stamps flip events (detected_at) and is the receiver's clock for
	// news without Received; default time.Now.
	Clock func() time.Time

	rows rowLocks
}

// NewStatusApplier returns a StatusApplier writing to l.
func NewStatusApplier(l *ledger.Ledger) *StatusApplier { return &StatusApplier{Ledger: l} }

// Apply records n in the ledger and reports what changed. News about a
// payment the ledger does not hold returns an error matching
// ErrUnknownPayment and changes nothing.
func (a *StatusApplier) Apply(ctx context.Context, n StatusNews) (StatusOutcome, error) {
	status := strings.ToUpper(strings.TrimSpace(n.Status))
	if n.TransferID == "" || status == "" {
		return StatusOutcome{}, fmt.Errorf("apply status: %w: no client_transfer_id or status", ErrUnknownPayment)
	}
	if n.At.IsZero() {
		return StatusOutcome{}, fmt.Errorf("apply status of %s: no time", n.TransferID)
	}
	defer a.rows.lock(n.TransferID)()

	row, err := a.Ledger.Row(ctx, n.TransferID)
	if errors.Is(err, ledger.ErrNotFound) {
		return StatusOutcome{}, fmt.Errorf("apply status of %s: %w", n.TransferID, ErrUnknownPayment)
	}
	if err != nil {
		return StatusOutcome{}, fmt.Errorf("apply status of %s: %w", n.TransferID, err)
	}
	token := rowToken(row)
	if token == "" {
		return StatusOutcome{}, a.unmatched(ctx, row, n, status, ErrNoPayment,
			fmt.Sprintf("%s news not applied: the row (%s) has no MassPay payment", status, row.State))
	}
	if n.Token != "" && n.Token != token {
		return StatusOutcome{}, fmt.Errorf("apply status of %s: token %s is not the row's %s: %w", n.TransferID, n.Token, token, ErrUnknownPayment)
	}
	at := n.At.UTC()
	received := n.Received
	if received.IsZero() {
		received = a.now()
	}
	if at.After(received.Add(MaxNewsAhead)) {
		return StatusOutcome{}, a.unmatched(ctx, row, n, status, ErrFutureNews,
			fmt.Sprintf("%s news not applied: dated %s, more than %s after the receiver's clock (%s)",
				status, at.Format(time.RFC3339), MaxNewsAhead, received.UTC().Format(time.RFC3339)))
	}
	// The later status is webhook's and reconcile's own; before any, the
	// status the runner's call answered is where the payment stands.
	cur, curAt := row.LaterStatus, row.LaterStatusAt
	if cur == "" {
		cur = row.MasspayStatus
	}
	out := StatusOutcome{Was: cur, Now: cur}

	if !curAt.IsZero() && !at.After(curAt) {
		if n.Observed && status != cur && (statusRank(status) > statusRank(cur) || isFlip(cur, status)) {
			// A poll is MassPay's truth now; our clock just lags the time a
			// webhook stamped the last change with. It is newer news.
			at = curAt.Add(time.Microsecond)
		} else {
			// Older news. It changes nothing, but it may reveal history:
			// settled as n says before the row's current, opposite status.
			if !n.Observed && isFlip(status, cur) {
				f, err := a.recordFlip(ctx, row, token, status, cur, curAt, n.Source)
				if err != nil {
					return out, err
				}
				out.Flip = f
			}
			return out, nil
		}
	}
	if status == cur {
		return out, nil
	}
	if isFlip(cur, status) {
		// The flip is written before the status: if the process dies in
		// between, the news is applied again later and the flip, already
		// there, is not written twice; the other order could lose it.
		f, err := a.recordFlip(ctx, row, token, cur, status, at, n.Source)
		if err != nil {
			return out, err
		}
		out.Flip = f
	}
	kind := n.Source
	if kind == "" {
		kind = ledger.EventStatus
	}
	w, err := a.Ledger.UpdateStatus(ctx, row.ID, status, at, ledger.Event{Kind: kind, Data: n.Data,
		Message: fmt.Sprintf("masspay status %s -> %s (%s)", orDashStatus(cur), status, kind)})
	if err != nil {
		return out, fmt.Errorf("apply status of %s: %w", row.ID, err)
	}
	if w == ledger.StatusApplied {
		out.Changed, out.Now = true, status
	}
	return out, nil
}

// unmatched records news that is not applied as an EventUnmatched event of
// the row and returns why, wrapped.
func (a *StatusApplier) unmatched(ctx context.Context, row ledger.Row, n StatusNews, status string, why error, msg string) error {
	ev := ledger.Event{Kind: EventUnmatched, RunID: row.LastRunID, TransferID: row.ID, MasspayStatus: status,
		Data: n.Data, Message: msg + " (" + string(n.Source) + ")"}
	if _, err := a.Ledger.AppendEvent(ctx, ev); err != nil {
		return fmt.Errorf("record unmatched status news of %s: %w", row.ID, err)
	}
	return fmt.Errorf("apply status of %s: %w", row.ID, why)
}

func (a *StatusApplier) now() time.Time {
	if a.Clock != nil {
		return a.Clock()
	}
	return time.Now()
}

// recordFlip appends an EventFlip for row unless the same flip (was, now and
// the time of now) is already recorded. It returns the flip when it wrote one.
func (a *StatusApplier) recordFlip(ctx context.Context, row ledger.Row, token, was, now string, nowAt time.Time, src ledger.EventKind) (*results.Flip, error) {
	for ev, err := range a.Ledger.Events(ctx, ledger.EventFilter{TransferID: row.ID, Kind: EventFlip}) {
		if err != nil {
			return nil, fmt.Errorf("read flips of %s: %w", row.ID, err)
		}
		var d flipData
		if json.Unmarshal(ev.Data, &d) == nil && d.Was == was && d.Now == now && d.NowAt.Equal(nowAt) {
			return nil, nil
		}
	}
	d := flipData{Token: token, Was: was, Now: now, NowAt: nowAt.UTC(), Source: string(src)}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("record flip of %s: %w", row.ID, err)
	}
	ev := ledger.Event{Kind: EventFlip, RunID: row.LastRunID, TransferID: row.ID, MasspayStatus: now, Data: b,
		Message: fmt.Sprintf("FLIP: MassPay status %s -> %s", was, now)}
	if a.Clock != nil {
		ev.At = a.Clock()
	}
	ev, err = a.Ledger.AppendEvent(ctx, ev)
	if err != nil {
		return nil, fmt.Errorf("record flip of %s: %w", row.ID, err)
	}
	f := flipFromEvent(row, ev, d)
	return &f, nil
}

// Webhook applies a MassPay status callback: the callback of the webhook
// receiver (masspay/webhook); received is the receiver's clock. News about
// payments payrun did not make, about rows without a payment, or dated more
// than MaxNewsAhead ahead is acknowledged and not applied (returns nil), so
// MassPay does not retry it for days; a ledger failure is returned, so the receiver answers 5xx and
// MassPay delivers again.
func (a *StatusApplier) Webhook(ctx context.Context, ev masspay.WebhookEvent, received time.Time) (StatusOutcome, error) {
	n := StatusNews{Status: ev.Status, Source: ledger.EventWebhook}
	switch ev.EventType {
	case masspay.EventPayout:
		n.TransferID, n.Token = ev.ClientTransferID, ev.PayoutToken
	case masspay.EventLoad:
		n.TransferID, n.Token = ev.ClientLoadID, ev.LoadToken
	default:
		return StatusOutcome{}, nil // spendbacks and others: not payrun's payments
	}
	if n.TransferID == "" {
		return StatusOutcome{}, nil
	}
	n.At, n.Received = received, received
	if ev.EventTime != "" {
		t, err := time.Parse(time.RFC3339Nano, ev.EventTime)
		if err == nil {
			n.At = t
		}
	}
	n.Data = webhookData(ev)
	out, err := a.Apply(ctx, n)
	if errors.Is(err, ErrUnknownPayment) || errors.Is(err, ErrNoPayment) || errors.Is(err, ErrFutureNews) {
		// Acknowledged so MassPay does not deliver it for days; the
		// unmatched ones are kept as events, and reconcile asks MassPay.
		return out, nil
	}
	return out, err
}

// webhookData is the compact JSON kept with a webhook's event.
func webhookData(ev masspay.WebhookEvent) json.RawMessage {
	b, err := json.Marshal(struct {
		EventType    string `json:"event_type"`
		Status       string `json:"status"`
		StatusReason string `json:"status_reason,omitempty"`
		Token        string `json:"token"`
		EventTime    string `json:"event_time,omitempty"`
	}{ev.EventType, ev.Status, ev.StatusReason, ev.PayoutToken + ev.LoadToken, ev.EventTime})
	if err != nil {
		return nil
	}
	return b
}

// rowToken is the payout or load token of a row.
func rowToken(r ledger.Row) string {
	if r.PayoutToken != "" {
		return r.PayoutToken
	}
	return r.LoadToken
}
