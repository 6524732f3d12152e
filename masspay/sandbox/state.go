package sandbox

import (
	"container/heap"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// balance is one account balance: what GET /account/balance lists.
type balance struct {
	token, currency string
	amount          decimal.Decimal
}

// user is a payee with its KYC state.
type user struct {
	masspay.StoredUser
	kycLink string
	seq     int
}

// attrSet is a stored set of attribute values for one user and route.
type attrSet struct {
	token, userToken, destToken string
	values                      map[string]string // attribute type -> value
	// revoked sets are no longer valid (RevokeAttributes): MassPay
	// refuses their token and lists no values from them.
	revoked bool
}

// payout is an initiated (and maybe committed) payout.
type payout struct {
	masspay.PayoutTxnResp
	userToken    string
	route        *route
	created      time.Time
	expires      time.Time
	committed    bool
	commitStatus string // last commit outcome, repeated on a second commit
	committedAt  time.Time
	cents        int64
	seq          int
}

// load is a wallet load.
type load struct {
	token, clientID, userToken, walletToken, currency, notes string
	amount                                                   decimal.Decimal
	status                                                   string
	created                                                  time.Time
	processAt                                                time.Time
	seq                                                      int
}

// wallet is a user's USER_FUNDS wallet in one currency.
type wallet struct {
	masspay.Wallet
	rules []*masspay.AutopayRule
}

// timer is a status change due at a sandbox time. It names what to do
// (kind) to which load or payout (token) instead of holding a closure, so
// that the pending timeline can be saved to a state file and restored.
type timer struct {
	at    time.Time
	seq   int
	kind  string
	token string
}

// Timer kinds.
const (
	timerLoad       = "load"       // process a scheduled load
	timerProcessing = "processing" // committed payout -> PROCESSING
	timerFinal      = "final"      // -> COMPLETED / READY_FOR_PICKUP / CANCELLED (.15)
	timerFlip       = "flip"       // COMPLETED -> CANCELLED (.16)
)

// timers is a min-heap of timers by time, then creation order.
type timers []*timer

func (t timers) Len() int { return len(t) }
func (t timers) Less(i, j int) bool {
	if !t[i].at.Equal(t[j].at) {
		return t[i].at.Before(t[j].at)
	}
	return t[i].seq < t[j].seq
}
func (t timers) Swap(i, j int) { t[i], t[j] = t[j], t[i] }
func (t *timers) Push(x any)   { *t = append(*t, x.(*timer)) }
func (t *timers) Pop() any {
	old := *t
	x := old[len(old)-1]
	*t = old[:len(old)-1]
	return x
}

// after schedules the timer kind for token at time at. Callers hold s.mu.
func (s *Sandbox) after(at time.Time, kind, token string) {
	s.seq++
	t := &timer{at: at, seq: s.seq, kind: kind, token: token}
	heap.Push(&s.timers, t)
	s.timerAdded(t)
}

// fire runs one due timer. Callers hold s.mu.
func (s *Sandbox) fire(t *timer) {
	if t.kind == timerLoad {
		if l := s.loads[t.token]; l != nil {
			s.processLoad(l, t.at)
		}
		return
	}
	p := s.payouts[t.token]
	if p == nil {
		return
	}
	switch t.kind {
	case timerProcessing:
		s.setStatus(p, masspay.StatusProcessing, "", t.at)
	case timerFinal:
		switch {
		case p.cents == centsCancelled:
			s.setStatus(p, masspay.StatusCancelled, "cancelled by the payer (sandbox magic cents .15)", t.at)
		case p.route.DeliveryType == masspay.DeliveryCashPickup:
			s.setStatus(p, masspay.StatusReadyForPickup, "", t.at)
		default:
			s.setStatus(p, masspay.StatusCompleted, "", t.at)
		}
	case timerFlip:
		s.setStatus(p, masspay.StatusCancelled, "reversed after completion (sandbox magic cents .16)", t.at)
	}
}

// catchUp runs every timer due by now, in time order, so a big clock jump
// still walks each payout through every intermediate status. Callers hold
// s.mu.
func (s *Sandbox) catchUp(now time.Time) {
	for len(s.timers) > 0 && !s.timers[0].at.After(now) {
		t := heap.Pop(&s.timers).(*timer)
		s.timerDone(t)
		s.fire(t)
	}
}

// cents returns the first two decimal digits of an amount: the magic-value
// selector (100.13 -> 13).
func cents(d decimal.Decimal) int64 {
	return d.Abs().Mul(decimal.NewFromInt(100)).Truncate(0).Mod(decimal.NewFromInt(100)).IntPart()
}

// stamp formats a sandbox time the way the API does.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
