package main

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/cmd/payrun/internal/runlease"
	"github.com/payrun/payrun/ledger"
)

// On a PostgreSQL ledger several hosts may run `payrun inbox`, on one
// shared folder or each on its own copy of the sheets. The folder lock is
// per host there (a same-host guard against cron overlapping itself): an
// flock on a network folder is unreliable, and a dead host's must not keep
// the others out. What makes each sheet paid by one inbox is a lease in
// the ledger, keyed by the sheet's content (ledger.TakeSheetLease): the
// inbox that takes it pays the sheet and renews the lease meanwhile; the
// others leave the sheet for their next tick. A host that dies stops
// renewing, and once its lease lapses the next tick of another host takes
// the sheet over, its run resuming the dead host's rows as after a crash.

// errSheetGone means the sheet left incoming under the inbox: another
// host's inbox on a shared folder filed it.
var errSheetGone = errors.New("sheet moved away by another inbox")

// sheetGone is the outcome of a sheet another inbox moved away; it is not
// reported in the pass's summary (that inbox reports it).
const sheetGone = "gone"

// inboxHost is the name this host goes by in sheet leases and in its
// folder lock's name: PAYRUN_HOST, else the system's host name.
func inboxHost(m *Main) string {
	host := strings.TrimSpace(m.Getenv("PAYRUN_HOST"))
	if host == "" {
		host, _ = os.Hostname()
	}
	if host == "" {
		host = "localhost"
	}
	return host
}

// inboxOwner names one inbox process for its sheet leases: host, pid and
// a random part, so a restarted process with a reused pid is another owner.
func inboxOwner(host string) string { return runlease.NameOn(host) }

// fileSafe keeps the characters of s that are safe in a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// heldSheet is a sheet lease this inbox holds, renewed in the background
// while the sheet runs.
type heldSheet struct {
	l     *ledger.Ledger
	log   zerolog.Logger
	lease time.Duration
	mu    sync.Mutex
	cur   ledger.SheetLease
	lost  atomic.Bool
	stop  chan struct{}
	done  chan struct{}
}

// takeSheet takes the lease on the sheet at path for this inbox. It
// returns nil and the holder's name when another inbox holds a live lease
// on it, and errSheetGone when the sheet is no longer there.
func (w *inboxWorker) takeSheet(ctx context.Context, name, path string) (*heldSheet, string, error) {
	sum, err := ingest.FileSHA256(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", errSheetGone
	}
	if err != nil {
		return nil, "", err
	}
	l, err := ledger.Open(ctx, w.ledgerPath, ledger.Options{})
	if err != nil {
		return nil, "", err
	}
	s, ok, err := l.TakeSheetLease(ctx, ingestKey(sum, w.ingestOpts, nil), name, w.owner, w.lease)
	if err != nil || !ok {
		l.Close()
		if s.Owner == "" {
			s.Owner = "another inbox" // released between the take and the read
		}
		return nil, s.Owner, err
	}
	h := &heldSheet{l: l, log: w.log.With().Str("sheet", name).Int64("lease_gen", s.Gen).Logger(), lease: w.lease, cur: s,
		stop: make(chan struct{}), done: make(chan struct{})}
	// Taken: the sheet may still have been filed by the inbox that held
	// the lease a moment ago, on a shared folder.
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		close(h.done)
		h.release(ctx)
		return nil, "", errSheetGone
	}
	go h.renew()
	return h, "", nil
}

// renew renews the lease every third of its length until stopped or lost.
// A renewal that fails for another reason (the database unreachable a
// moment) is retried at the next beat: the lease lapses only after three.
func (h *heldSheet) renew() {
	defer close(h.done)
	t := time.NewTicker(h.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		if !h.renewOnce(context.Background()) {
			return
		}
	}
}

// renewOnce renews the lease once and reports whether it is still held.
func (h *heldSheet) renewOnce(ctx context.Context) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost.Load() {
		return false
	}
	s, err := h.l.RenewSheetLease(ctx, h.cur, h.lease)
	switch {
	case errors.Is(err, ledger.ErrSheetLeaseLost):
		h.lost.Store(true)
		h.log.Error().Err(err).Msg("sheet lease lost: another inbox took the sheet over; this one will not file it")
		return false
	case err != nil:
		h.log.Warn().Err(err).Msg("renew sheet lease; retried")
	default:
		h.cur = s
	}
	return true
}

// keep stops the background renewal and renews the lease a last time,
// compare-and-set on its generation: true means the sheet is still this
// inbox's to file. A lease taken over meanwhile (this host stalled past
// it) is the new holder's sheet, and it files it. A renewal that fails
// otherwise (the database unreachable) is tried three times, a second
// apart, and then counts as lost: a sheet left in incoming is filed by a
// later tick (as nothing to pay), where one filed by two hosts would read
// as paid twice.
func (h *heldSheet) keep(ctx context.Context) bool {
	h.halt()
	ctx = context.WithoutCancel(ctx)
	for try := 0; ; try++ {
		h.mu.Lock()
		if h.lost.Load() {
			h.mu.Unlock()
			return false
		}
		s, err := h.l.RenewSheetLease(ctx, h.cur, h.lease)
		if err == nil {
			h.cur = s
			h.mu.Unlock()
			return true
		}
		h.mu.Unlock()
		if errors.Is(err, ledger.ErrSheetLeaseLost) || try == 2 {
			h.log.Error().Err(err).Msg("sheet lease not confirmed before filing; the sheet stays in incoming")
			if errors.Is(err, ledger.ErrSheetLeaseLost) {
				h.lost.Store(true)
			}
			return false
		}
		time.Sleep(time.Second)
	}
}

// halt stops the background renewal.
func (h *heldSheet) halt() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.done
}

// release gives the lease up, so another inbox may take the sheet at once
// (it is filed, or left in incoming for the next tick), and closes the
// ledger.
func (h *heldSheet) release(ctx context.Context) {
	h.halt()
	defer h.l.Close()
	if h.lost.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.l.ReleaseSheetLease(context.WithoutCancel(ctx), h.cur); err != nil {
		h.log.Warn().Err(err).Msg("release sheet lease")
	}
}
