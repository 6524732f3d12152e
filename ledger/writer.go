package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"sync/atomic"
)

// Group commit. With synchronous=FULL every COMMIT costs an fsync, which caps
// a one-transaction-per-transition ledger at the disk's fsync rate. All writes
// therefore go through one writer goroutine: it takes every write queued at
// that moment (up to maxBatch), runs each inside its own SAVEPOINT of a single
// transaction, commits once, and only then tells each caller its own outcome.
// A write that fails (a lost compare-and-set, a constraint) is rolled back to
// its savepoint and reported to its caller alone; the others still commit. A
// failed COMMIT is reported to every caller of the batch. No caller ever
// returns success before the transaction holding its write is durable.

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

// Write request states: a request abandoned by its caller (context done)
// before the writer took it is skipped; once taken, the caller waits.
const (
	reqPending int32 = iota
	reqTaken
	reqAbandoned
)

type writeReq struct {
	fn   func(tx *wtx) error
	solo bool // needs its own transaction (large writes such as UpsertRows)
	// shared marks a write that may share the ledger's write lock on
	// PostgreSQL (writeShared); oneKey, one that locks one row another
	// process's shared write may lock too (writeOneKey).
	shared, oneKey bool
	state          atomic.Int32
	done           chan error // buffered: the writer never blocks on a caller
}

// write runs fn in a write transaction and returns once that transaction has
// committed (nil) or fn's own error. solo keeps fn out of group commits.
func (l *Ledger) write(ctx context.Context, solo bool, fn func(tx *wtx) error) error {
	return l.enqueue(ctx, &writeReq{fn: fn, solo: solo, done: make(chan error, 1)})
}

// writeShared is write for a write that locks no row another process's
// shared write may lock: updates of rows this process holds under a claim,
// each statement compare-and-set on the claim's owner (claims.go), and
// inserts keyed by such a row or by a sequence (events, requests). On
// PostgreSQL a transaction of shared writes alone takes the ledger's write
// lock in shared mode, so the transactions of several runners on one run
// overlap instead of queueing behind one another; every other write takes
// it exclusively, as before.
//
// That cannot deadlock. A claim changes hands only in an exclusive
// transaction (ClaimRows), which never overlaps a shared one, so a shared
// transaction's updates match, and lock, only rows whose committed claim
// is its own process's, which no other process's shared transaction
// updates; its inserts wait for nothing (their foreign keys take KEY
// SHARE locks, which no shared write's update of non-key columns
// conflicts with). The one row lock two shared transactions may contend
// for is a writeOneKey's, and a batch holds at most one of those (writer):
// a wait-for cycle needs a transaction holding one contended lock while
// waiting for another.
func (l *Ledger) writeShared(ctx context.Context, fn func(tx *wtx) error) error {
	return l.enqueue(ctx, &writeReq{fn: fn, shared: true, done: make(chan error, 1)})
}

// writeOneKey is writeShared for a write whose single statement locks one
// row of a cache other processes write too (a payee's user token or
// route, keyed by the payee): at most one such write joins a shared batch.
func (l *Ledger) writeOneKey(ctx context.Context, fn func(tx *wtx) error) error {
	return l.enqueue(ctx, &writeReq{fn: fn, shared: true, oneKey: true, done: make(chan error, 1)})
}

// enqueue hands req to the writer goroutine and waits for its outcome.
func (l *Ledger) enqueue(ctx context.Context, req *writeReq) error {
	if l.readOnly {
		return ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-l.closing:
		return ErrClosed
	default:
	}
	select {
	case l.queue <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.closing:
		return ErrClosed
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqPending, reqAbandoned) {
			return ctx.Err()
		}
		// The writer has it: its outcome is about to be durable or not,
		// and the caller must learn which.
		return <-req.done
	case <-l.writerEnd:
		// Closed after the request was queued but before the writer
		// saw it.
		if req.state.CompareAndSwap(reqPending, reqAbandoned) {
			return ErrClosed
		}
		return <-req.done
	}
}

// writer is the single goroutine that owns l.wdb.
func (l *Ledger) writer() {
	defer close(l.writerEnd)
	// held is a request found while gathering a batch that cannot join
	// it: a solo one or, on PostgreSQL, one of the other lock mode
	// (shared or not) or a second writeOneKey in a shared batch
	// (writeShared says why).
	var held *writeReq
	for {
		var first *writeReq
		if held != nil {
			first, held = held, nil
		} else {
			select {
			case first = <-l.queue:
			case <-l.closing:
				l.drainClosed()
				return
			}
		}
		batch := []*writeReq{first}
		oneKey := first.oneKey
		if !first.solo {
		gather:
			for len(batch) < maxBatch {
				select {
				case r := <-l.queue:
					// SQLite has one lock mode: any write joins.
					if r.solo || (l.pg && (r.shared != first.shared || (r.oneKey && oneKey))) {
						held = r
						break gather
					}
					oneKey = oneKey || r.oneKey
					batch = append(batch, r)
				default:
					break gather
				}
			}
		}
		l.runBatch(batch)
		l.prepareQueued()
	}
}

// drainClosed fails the writes still queued at Close.
func (l *Ledger) drainClosed() {
	for {
		select {
		case r := <-l.queue:
			if r.state.CompareAndSwap(reqPending, reqTaken) {
				r.done <- ErrClosed
			}
		default:
			return
		}
	}
}

// maxStmts bounds the writer's prepared-statement cache. Parsing SQL costs
// more than executing these small statements, so the writer prepares each
// distinct statement once on its single connection and reuses it.
const maxStmts = 256

// wtx is the write transaction handed to write functions. Its statements
// run through the writer's prepared-statement cache.
type wtx struct {
	tx  *sql.Tx
	ctx context.Context
	l   *Ledger
}

// stmt returns q's cached statement bound to the transaction, or nil when q
// is not prepared yet: it is then run unprepared and queued for preparation
// after the transaction, because the writer pool's only connection is busy
// until then.
func (t *wtx) stmt(q string) *sql.Stmt {
	if s, ok := t.l.stmts[q]; ok {
		return t.tx.StmtContext(t.ctx, s)
	}
	if len(t.l.stmts)+len(t.l.toPrepare) < maxStmts {
		t.l.toPrepare[q] = struct{}{}
	}
	return nil
}

// prepareQueued prepares the statements first seen in the last transaction.
func (l *Ledger) prepareQueued() {
	for q := range l.toPrepare {
		if s, err := l.wdb.PrepareContext(context.Background(), q); err == nil {
			l.stmts[q] = s
		}
		delete(l.toPrepare, q)
	}
}

func (t *wtx) exec(q string, args ...any) (sql.Result, error) {
	if s := t.stmt(q); s != nil {
		return s.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, q, args...)
}

// query runs a read of several rows inside the write transaction; the
// caller closes the rows before its next statement.
func (t *wtx) query(q string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(q); s != nil {
		return s.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, q, args...)
}

func (t *wtx) queryRow(q string, args ...any) *sql.Row {
	if s := t.stmt(q); s != nil {
		return s.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, q, args...)
}

// runBatch runs the batch in one transaction and reports to every caller.
func (l *Ledger) runBatch(batch []*writeReq) {
	live := batch[:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqPending, reqTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	errs := make([]error, len(live))
	fail := func(err error) {
		for _, r := range live {
			r.done <- err
		}
	}
	// Not the callers' contexts: one caller giving up must not roll back
	// the writes of the others sharing the transaction.
	ctx := context.Background()
	tx, err := l.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("begin write: %w", err))
		return
	}
	w := &wtx{tx: tx, ctx: ctx, l: l}
	if l.pg {
		// One writer at a time per ledger, as SQLite's BEGIN IMMEDIATE
		// gives: two processes' batches locking the same rows in
		// different orders would otherwise deadlock, and PostgreSQL would
		// fail one of them (TestTransitionRaceAcrossHandles). Batches of
		// shared writes alone share it (writeShared says why that is
		// safe): several runners' transitions overlap.
		fn := "pg_advisory_xact_lock"
		if live[0].shared {
			// A batch holds shared writes only or none (writer).
			fn = "pg_advisory_xact_lock_shared"
		}
		// The wait for it is pgWriteLockWait, then lock_timeout again for
		// the batch's own statements: set_config (local to the
		// transaction) around the lock in one round trip, the select
		// list evaluated left to right.
		take := `SELECT set_config('lock_timeout', ?, true), ` + fn + `(?, ` + pgLockKey + `), set_config('lock_timeout', ?, true)`
		if _, err := w.exec(take, strconv.FormatInt(pgWriteLockWait.Milliseconds(), 10), pgLockClass, pgLockWrite, l.pgBusy); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("begin write: take the write lock: %w", err))
			return
		}
	}
	if len(live) == 1 {
		if errs[0] = live[0].fn(w); errs[0] != nil {
			tx.Rollback()
			live[0].done <- errs[0]
			return
		}
	} else {
		for i, r := range live {
			if _, err := w.exec("SAVEPOINT w"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("write savepoint: %w", err))
				return
			}
			if errs[i] = r.fn(w); errs[i] != nil {
				if _, err := w.exec("ROLLBACK TO w"); err != nil {
					tx.Rollback()
					fail(fmt.Errorf("write rollback to savepoint: %w (after %w)", err, errs[i]))
					return
				}
			}
			if _, err := w.exec("RELEASE w"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("write release savepoint: %w", err))
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("commit write: %w", err))
		return
	}
	for i, r := range live {
		r.done <- errs[i]
	}
}
