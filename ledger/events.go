package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"time"
)

// EventKind classifies an audit event. The kinds below are the ones payrun
// writes today; the column is free text so later features can add kinds
// without a migration.
type EventKind string

// Event kinds.
const (
	EventIngest     EventKind = "ingest"     // a row entered the ledger (or an INVALID one was replaced)
	EventConflict   EventKind = "conflict"   // a sheet row collided with a known id
	EventTransition EventKind = "transition" // a row changed state (default for Transition)
	EventAPICall    EventKind = "api_call"   // a MassPay call and its outcome
	EventStatus     EventKind = "status"     // MassPay's status changed (default for UpdateStatus)
	EventWebhook    EventKind = "webhook"    // a MassPay callback was received
	EventReconcile  EventKind = "reconcile"  // reconcile fetched a status
	EventApproval   EventKind = "approval"   // a plan was approved
	EventRetry      EventKind = "retry"      // a person asked to retry a NEEDS_ACTION row
	EventRun        EventKind = "run"        // run-level notes (start, abort reason, balances)
	// EventInternalError: payrun stopped a row for a person on something
	// that must not happen (a key refused as reused), with the evidence.
	EventInternalError EventKind = "internal_error"
)

// Event is one append-only audit record.
type Event struct {
	Seq        int64     // assigned by the ledger, increasing
	At         time.Time // defaults to the ledger's clock
	RunID      int64     // 0: none
	TransferID string    // client_transfer_id; "" for events not about a row
	Kind       EventKind
	From, To   State // for transitions and ingest
	// IdempotencyKey is the key the API call used (or is about to use).
	IdempotencyKey string
	HTTPStatus     int
	MasspayStatus  string
	Message        string
	Data           json.RawMessage // optional JSON detail; must be valid JSON
}

const eventCols = `id, at, run_id, client_transfer_id, kind, from_state, to_state, idempotency_key,
	http_status, masspay_status, message, data`

// AppendEvent records ev (Kind is required) and returns it with its Seq.
func (l *Ledger) AppendEvent(ctx context.Context, ev Event) (Event, error) {
	if ev.Kind == "" {
		return Event{}, fmt.Errorf("append event: empty kind")
	}
	if ev.At.IsZero() {
		ev.At = l.now()
	}
	// An insert keyed by a sequence: a shared write.
	err := l.writeShared(ctx, func(tx *wtx) error {
		var err error
		ev.Seq, err = insertEventSeq(tx, ev, formatTime(ev.At))
		return err
	})
	if err != nil {
		return Event{}, fmt.Errorf("append event: %w", err)
	}
	ev.At = ev.At.UTC()
	return ev, nil
}

func insertEvent(tx *wtx, ev Event, now string) error {
	_, err := insertEventSeq(tx, ev, now)
	return err
}

// insertEventSeq writes ev inside tx; now is used when ev.At is zero.
func insertEventSeq(tx *wtx, ev Event, now string) (int64, error) {
	at := now
	if !ev.At.IsZero() {
		at = formatTime(ev.At)
	}
	var run, id, data any
	if ev.RunID != 0 {
		run = ev.RunID
	}
	if ev.TransferID != "" {
		id = ev.TransferID
	}
	if len(ev.Data) > 0 {
		if !json.Valid(ev.Data) {
			return 0, fmt.Errorf("event data is not valid JSON")
		}
		data = string(ev.Data)
	}
	var seq int64
	err := tx.queryRow(`INSERT INTO events (at, run_id, client_transfer_id, kind, from_state,
		to_state, idempotency_key, http_status, masspay_status, message, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		at, run, id, string(ev.Kind), string(ev.From), string(ev.To), ev.IdempotencyKey, ev.HTTPStatus,
		ev.MasspayStatus, ev.Message, data).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("insert event: %w", err)
	}
	return seq, nil
}

// EventFilter selects events for Events. Zero fields do not filter.
type EventFilter struct {
	TransferID string // one row's events
	RunID      int64
	Kind       EventKind
	AfterSeq   int64 // only events with Seq > AfterSeq (to follow the trail)
}

// Events yields the events matching f in the order they were written. It
// streams page by page, like Rows.
func (l *Ledger) Events(ctx context.Context, f EventFilter) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		var (
			where = []string{"id > ?"}
			args  = []any{f.AfterSeq}
		)
		if f.TransferID != "" {
			where = append(where, "client_transfer_id = ?")
			args = append(args, f.TransferID)
		}
		if f.RunID != 0 {
			where = append(where, "run_id = ?")
			args = append(args, f.RunID)
		}
		if f.Kind != "" {
			where = append(where, "kind = ?")
			args = append(args, string(f.Kind))
		}
		q := `SELECT ` + eventCols + ` FROM events WHERE ` + strings.Join(where, " AND ") + ` ORDER BY id LIMIT ?`
		for {
			page, err := l.eventPage(ctx, q, append(args[:len(args):len(args)], pageSize)...)
			if err != nil {
				yield(Event{}, fmt.Errorf("read events: %w", err))
				return
			}
			for _, ev := range page {
				if !yield(ev, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
			args[0] = page[len(page)-1].Seq
		}
	}
}

func (l *Ledger) eventPage(ctx context.Context, q string, args ...any) ([]Event, error) {
	rs, err := l.rq(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var page []Event
	for rs.Next() {
		var (
			ev             Event
			at, id, data   sql.NullString
			run            sql.NullInt64
			kind, from, to string
		)
		if err := rs.Scan(&ev.Seq, &at, &run, &id, &kind, &from, &to, &ev.IdempotencyKey,
			&ev.HTTPStatus, &ev.MasspayStatus, &ev.Message, &data); err != nil {
			return nil, err
		}
		if ev.At, err = parseTime(at); err != nil {
			return nil, err
		}
		ev.RunID, ev.TransferID = run.Int64, id.String
		ev.Kind, ev.From, ev.To = EventKind(kind), State(from), State(to)
		if data.Valid {
			ev.Data = json.RawMessage(data.String)
		}
		page = append(page, ev)
	}
	return page, rs.Err()
}
