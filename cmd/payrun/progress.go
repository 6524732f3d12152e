package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// progressView shows a run's progress: a one-line bar redrawn in place on a
// terminal, or a JSON log line every interval otherwise (cron). Hand-written:
// the line needs the counts by state, which bar libraries only add as a free
// text suffix, and it must never interleave with log lines (we clear it first).
type progressView struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	log      zerolog.Logger
	every    time.Duration
	last     time.Time
	now      func() time.Time
	drawn    bool
	lastSnap batch.Progress
	stopping bool // Stopping was called: no ETA
	finished bool // Finish was called: nothing more is drawn
}

func newProgressView(w io.Writer, tty bool, log zerolog.Logger) *progressView {
	return &progressView{w: w, tty: tty, log: log, every: 10 * time.Second, now: time.Now}
}

// Update records a snapshot and redraws at most ten times a second on a
// terminal, once per interval otherwise.
func (p *progressView) Update(s batch.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastSnap = s
	now := p.now()
	gap := p.every
	if p.tty {
		gap = 100 * time.Millisecond
	}
	if now.Sub(p.last) < gap && s.Done < s.Total {
		return
	}
	p.last = now
	p.draw(s, now)
}

// Finish draws the last snapshot and ends the line.
func (p *progressView) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished = true
	if p.lastSnap.Total == 0 {
		return
	}
	p.draw(p.lastSnap, p.now())
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func (p *progressView) draw(s batch.Progress, now time.Time) {
	elapsed := now.Sub(s.Started)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(s.Done) / elapsed.Seconds()
	}
	eta := "?"
	if rate > 0 && s.Total > s.Done {
		eta = (time.Duration(float64(s.Total-s.Done)/rate) * time.Second).Round(time.Second).String()
	} else if s.Total == s.Done {
		eta = "0s"
	}
	if p.stopping {
		p.drawStopping(s, rate)
		return
	}
	if !p.tty {
		ev := p.log.Info().Int("done", s.Done).Int("total", s.Total).Float64("rows_per_s", rate).Str("eta", eta).
			Int("window", s.Window).Float64("requests_per_s", math.Round(s.RequestRate*10)/10)
		for st, n := range s.ByState {
			ev = ev.Int(string(st), n)
		}
		ev.Msg("progress")
		return
	}
	fmt.Fprintf(p.w, "\r\033[K[%s] %d/%d rows  %.1f/s  ETA %s  window %d, %.0f req/s  %s", progressBar(s), s.Done, s.Total, rate, eta,
		s.Window, s.RequestRate, stateCounts(s.ByState))
	p.drawn = true
}

// drawStopping draws a stopping run: payments in flight finish, the rows
// left wait for the next run.
func (p *progressView) drawStopping(s batch.Progress, rate float64) {
	left := s.Total - s.Done
	if !p.tty {
		ev := p.log.Info().Int("done", s.Done).Int("total", s.Total).Float64("rows_per_s", rate).Bool("stopping", true).Int("left", left)
		for st, n := range s.ByState {
			ev = ev.Int(string(st), n)
		}
		ev.Msg("progress")
		return
	}
	fmt.Fprintf(p.w, "\r\033[K[%s] %d/%d rows  stopping: payments in flight finish, %s left for the next run  %s",
		progressBar(s), s.Done, s.Total, plural.Count(left, "row"), stateCounts(s.ByState))
	p.drawn = true
}

// progressBar is the bar of s, 24 characters.
func progressBar(s batch.Progress) string {
	const width = 24
	filled := 0
	if s.Total > 0 {
		filled = width * s.Done / s.Total
	}
	return strings.Repeat("#", filled) + strings.Repeat("-", width-filled)
}

// stateCounts renders counts by state, final states first, e.g.
// "PAID 12 · LOADED 40 · NEEDS_ACTION 2 · in flight 3".
func stateCounts(m map[ledger.State]int) string {
	var final []string
	pending := 0
	keys := make([]string, 0, len(m))
	for s := range m {
		keys = append(keys, string(s))
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := ledger.State(k)
		if m[s] == 0 {
			continue
		}
		if s.Final() {
			final = append(final, fmt.Sprintf("%s %d", k, m[s]))
		} else {
			pending += m[s]
		}
	}
	if pending > 0 {
		final = append(final, fmt.Sprintf("pending %d", pending))
	}
	return strings.Join(final, " · ")
}

// Stopping tells the view the run was asked to stop (the first Ctrl-C or
// SIGTERM): from then on it shows what is left instead of an ETA, since
// the rows left will not be paid by this run and no finish is coming.
func (p *progressView) Stopping() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping || p.finished {
		return
	}
	p.stopping = true
	if p.lastSnap.Total > 0 {
		p.last = p.now()
		p.draw(p.lastSnap, p.last)
	}
}
