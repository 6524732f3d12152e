package flow

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// Defaults of Config's zero fields.
const (
	DefaultInitial   = 8
	DefaultMax       = 64
	DefaultTolerance = 3.0
)

const (
	// minRTTWindow is how long the smallest round latency is remembered:
	// long enough to outlast a stretch of queueing, short enough that a
	// MassPay that became slower for good stops looking congested.
	minRTTWindow = 30 * time.Second
	// minRound is the fewest samples a round decides on: fewer make the
	// median noise.
	minRound = 10
	// throttleCut multiplies the window on a 429.
	throttleCut = 0.7
	// plateauGain is the least rise of the answer rate a bigger window must
	// bring (10%); a window that grew without it is taken back and held
	// for plateauHold rounds before it is tried again. MassPay's latency
	// alone does not show every bottleneck: when the rows queue on this
	// machine (the ledger's disk, the CPU, an in-process sandbox), the
	// answers stay fast while more rows in flight only crowd each other.
	// BBR leaves its start-up on the same test (delivery rate not growing).
	plateauGain = 1.1
	plateauHold = 4
	// latencySlack is the least rise over the minimum latency taken for
	// queueing: a MassPay answering in a fraction of a millisecond (the
	// embedded sandbox) triples its latency on a garbage collection or a
	// disk sync, which says nothing about load; at MassPay's real 50 to
	// 500 ms it changes nothing.
	latencySlack = 5 * time.Millisecond
	// rateSlot and rateSlots: the request rate is counted in slots of
	// rateSlot over the last rateSlots of them.
	rateSlot  = 500 * time.Millisecond
	rateSlots = 10
)

// Config tunes an adaptive Limiter. Zero fields take the defaults.
type Config struct {
	// Initial is the window before anything was observed (DefaultInitial).
	Initial int
	// Min and Max bound the window (1 and DefaultMax).
	Min, Max int
	// Tolerance is how many times the minimum latency a round's median may
	// reach before the window shrinks (DefaultTolerance): queueing up to it
	// is what buys throughput, beyond it only delay.
	Tolerance float64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MinWindow is how long the minimum latency is remembered (default
	// 30 seconds).
	MinWindow time.Duration
}

// Sample is what one HTTP attempt tells the controller.
type Sample struct {
	// Latency is the time from sending the request to the answer.
	Latency time.Duration
	// Queued is the time the request waited before it was sent, for the
	// client's token bucket or a Retry-After pause. It counts in a round's
	// latency (rows queueing there are rows the window need not hold) but
	// not in the minimum: else a window kept full by the bucket would
	// raise its own yardstick every 30 seconds.
	Queued time.Duration
	// Throttled is a 429: MassPay asked to slow down.
	Throttled bool
}

// Stats is a Limiter's state, for progress output.
type Stats struct {
	// Window is the number of rows allowed in flight now.
	Window int
	// InFlight is the number of rows in flight now.
	InFlight int
	// Adaptive is false for a window pinned by Fixed.
	Adaptive bool
	// RequestRate is the attempts per second observed over the last few
	// seconds.
	RequestRate float64
	// MinLatency is the smallest round median latency remembered (0 before
	// the first round).
	MinLatency time.Duration
	// Throttled counts the 429s observed.
	Throttled int
}

// Limiter is a window over the rows in flight. It is safe for concurrent
// use.
type Limiter struct {
	adaptive bool
	min, max float64
	tol      float64
	now      func() time.Time

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced when a slot may have opened
	inFlight int
	limit    float64

	// the current round: latencies with and without the queueing
	lat, wire []time.Duration
	throttled bool
	peak      int // most rows in flight during the round
	slowStart bool
	// answer-rate plateau: when the round began, the rate of the round
	// before the window last grew, the window it grew from (0 when the
	// last change was not a growth), and rounds left to hold after an
	// undone growth.
	roundStart time.Time
	prevRate   float64
	grewFrom   float64
	hold       int
	lastCut    time.Time
	// lastDecrease is when the window last came down: answers to requests
	// sent before it tell of the old window, already acted on.
	lastDecrease time.Time

	// minimum-RTT filter: the least round median, and the least of the
	// current epoch, which replaces it when the epoch ends.
	minRTT, epochMin time.Duration
	epochStart       time.Time
	minWindow        time.Duration

	// request rate
	slots      [rateSlots]int
	slotAt     int64 // index (time / rateSlot) of the newest slot
	firstSeen  time.Time
	throttles  int
	haveSample bool
}

// New returns an adaptive Limiter.
func New(cfg Config) *Limiter {
	if cfg.Max <= 0 {
		cfg.Max = DefaultMax
	}
	if cfg.Min <= 0 {
		cfg.Min = 1
	}
	cfg.Min = min(cfg.Min, cfg.Max)
	if cfg.Initial <= 0 {
		cfg.Initial = DefaultInitial
	}
	cfg.Initial = max(cfg.Min, min(cfg.Initial, cfg.Max))
	if cfg.Tolerance <= 1 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MinWindow <= 0 {
		cfg.MinWindow = minRTTWindow
	}
	return &Limiter{minWindow: cfg.MinWindow,
		adaptive: true, min: float64(cfg.Min), max: float64(cfg.Max), tol: cfg.Tolerance, now: cfg.Now,
		changed: make(chan struct{}), limit: float64(cfg.Initial), slowStart: true,
	}
}

// Fixed returns a Limiter whose window is always n (at least 1); it still
// counts the request rate for progress output. now may be nil (time.Now).
func Fixed(n int, now func() time.Time) *Limiter {
	n = max(1, n)
	if now == nil {
		now = time.Now
	}
	return &Limiter{min: float64(n), max: float64(n), limit: float64(n), now: now, changed: make(chan struct{})}
}

// Max is the largest window the Limiter may open.
func (l *Limiter) Max() int { return int(l.max) }

// Window is the number of rows allowed in flight now.
func (l *Limiter) Window() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.window()
}

func (l *Limiter) window() int { return max(1, int(l.limit)) }

// Acquire waits until a row may start (fewer rows in flight than the
// window) and counts it in flight; Release ends it. It fails only when ctx
// ends first.
func (l *Limiter) Acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inFlight < l.window() {
			l.inFlight++
			l.peak = max(l.peak, l.inFlight)
			l.mu.Unlock()
			return nil
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Release ends a row that Acquire started.
func (l *Limiter) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight > 0 {
		l.inFlight--
	}
	l.wake()
}

// wake tells waiting Acquires to look again. l.mu is held.
func (l *Limiter) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Observe takes one HTTP attempt's outcome into account.
func (l *Limiter) Observe(s Sample) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.count(now)
	if s.Throttled {
		l.throttles++
	}
	if !l.adaptive {
		return
	}
	if s.Throttled {
		l.throttled = true
		// One overload answers many requests at once: cut once per
		// stretch, not once per answer.
		gap := max(100*time.Millisecond, 2*l.minRTT)
		if l.lastCut.IsZero() || now.Sub(l.lastCut) >= gap {
			l.lastCut = now
			l.slowStart = false
			l.grewFrom = 0
			l.setLimit(l.limit * throttleCut)
			l.lastDecrease = now
			l.resetRound(now)
		}
		return
	}
	if now.Add(-s.Queued - s.Latency).Before(l.lastDecrease) {
		// Sent before the window last came down: one overload is cut
		// once per round trip, as TCP does, not once for every window's
		// worth of its late answers (a one-second stall took the window
		// from 64 to 18).
		return
	}
	l.lat = append(l.lat, s.Queued+s.Latency)
	l.wire = append(l.wire, s.Latency)
	if len(l.lat) < max(minRound, l.window()) {
		return
	}
	l.endRound(now)
}

// endRound decides on a full round of latencies. l.mu is held.
func (l *Limiter) endRound(now time.Time) {
	defer l.resetRound(now)
	slices.Sort(l.lat)
	slices.Sort(l.wire)
	rtt, base := l.lat[len(l.lat)/2], l.wire[len(l.wire)/2]
	if l.throttled {
		return // the cut was made when the 429 came
	}
	if l.epochStart.IsZero() {
		l.epochStart = now
	}
	if l.minRTT == 0 || base < l.minRTT {
		l.minRTT = base
	}
	if l.epochMin == 0 || base < l.epochMin {
		l.epochMin = base
	}
	if now.Sub(l.epochStart) >= l.minWindow {
		l.minRTT, l.epochMin, l.epochStart = l.epochMin, 0, now
	}
	rate := 0.0
	if d := now.Sub(l.roundStart); !l.roundStart.IsZero() && d > 0 {
		rate = float64(len(l.lat)) / d.Seconds()
	}
	grewFrom := l.grewFrom
	l.grewFrom = 0
	limit := max(float64(l.minRTT)*l.tol, float64(l.minRTT+latencySlack))
	switch {
	case float64(rtt) > limit:
		g := max(0.5, limit/float64(rtt))
		l.slowStart = false
		l.setLimit(l.limit * (0.5 + 0.5*g))
		l.lastDecrease = now
	case grewFrom > 0 && float64(l.peak) > grewFrom && rate > 0 && rate < l.prevRate*plateauGain:
		// The window grew, the extra rows were in flight, and answers
		// came no faster: take the growth back and hold.
		l.slowStart = false
		l.hold = plateauHold
		l.setLimit(grewFrom)
		l.lastDecrease = now
	case float64(l.peak) < l.limit/2:
		// Rows, not MassPay, were short (the sheet's tail, a slow
		// ledger): a bigger window would prove nothing.
	case l.hold > 0:
		l.hold--
	case l.slowStart:
		l.grow(l.limit*2, rate)
	default:
		l.grow(l.limit+max(1, math.Sqrt(l.limit)), rate)
	}
}

// grow opens the window to v, remembering the answer rate it had, so the
// next round can tell whether the bigger window bought anything. l.mu is
// held.
func (l *Limiter) grow(v, rate float64) {
	if int(min(l.max, v)) <= l.window() || rate == 0 {
		l.setLimit(v)
		return
	}
	l.grewFrom, l.prevRate = l.limit, rate
	l.setLimit(v)
}

func (l *Limiter) resetRound(now time.Time) {
	l.roundStart = now
	l.lat, l.wire = l.lat[:0], l.wire[:0]
	l.throttled = false
	l.peak = l.inFlight
}

// setLimit moves the window within its bounds. l.mu is held.
func (l *Limiter) setLimit(v float64) {
	v = max(l.min, min(l.max, v))
	grew := int(v) > l.window()
	l.limit = v
	if grew {
		l.wake()
	}
}

// count adds an attempt to the request rate. l.mu is held.
func (l *Limiter) count(now time.Time) {
	if !l.haveSample {
		l.haveSample, l.firstSeen = true, now
	}
	l.advance(now)
	l.slots[l.slotAt%rateSlots]++
}

// advance clears the slots that ended since the last sample.
func (l *Limiter) advance(now time.Time) {
	at := now.UnixNano() / int64(rateSlot)
	if l.slotAt == 0 || at-l.slotAt >= rateSlots {
		l.slots = [rateSlots]int{}
		l.slotAt = at
		return
	}
	for ; l.slotAt < at; l.slotAt++ {
		l.slots[(l.slotAt+1)%rateSlots] = 0
	}
}

// Stats returns the Limiter's state now.
func (l *Limiter) Stats() Stats {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Stats{Window: l.window(), InFlight: l.inFlight, Adaptive: l.adaptive, MinLatency: l.minRTT, Throttled: l.throttles}
	if !l.haveSample {
		return st
	}
	l.advance(now)
	n := 0
	for _, c := range l.slots {
		n += c
	}
	// The slots cover up to rateSlots-1 whole slots and the current one,
	// but never more than the time since the first attempt.
	span := time.Duration(rateSlots-1)*rateSlot + time.Duration(now.UnixNano()%int64(rateSlot))
	span = min(span, now.Sub(l.firstSeen))
	if span > 0 {
		st.RequestRate = float64(n) / span.Seconds()
	}
	return st
}
