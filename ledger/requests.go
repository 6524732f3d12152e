package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// RequestKind names the money-moving call a Request records.
type RequestKind string

// The calls whose exact request is recorded with their intent.
const (
	RequestLoad     RequestKind = "load"
	RequestInitiate RequestKind = "initiate"
	RequestCommit   RequestKind = "commit"
)

// Request is the exact request a money-moving call sends under Key: the body
// bytes as they leave payrun (nil for a call without a body, the commit).
// A key's first recorded Request is final: a resumed or retried call re-sends
// its Body, never a body rebuilt from the sheet, because MassPay refuses the
// same key with another body (422 IDEMPOTENCY_KEY_REUSED) and a later sheet
// may have corrected a note meanwhile.
type Request struct {
	Key        string
	Kind       RequestKind
	Body       []byte
	SHA256     string // hex SHA-256 of Body ("" without a body)
	RecordedAt time.Time
}

// BodyHash is the hex SHA-256 of a request body, "" for no body: the
// evidence a refused key's events carry.
func BodyHash(body []byte) string {
	if body == nil {
		return ""
	}
	s := sha256.Sum256(body)
	return hex.EncodeToString(s[:])
}

// insertRequest records q for row id unless its key is recorded already; the
// first record of a key wins.
func insertRequest(tx *wtx, id string, q *Request, now string) error {
	if q.Key == "" {
		return fmt.Errorf("record request of row %q: empty idempotency key", id)
	}
	switch q.Kind {
	case RequestLoad, RequestInitiate, RequestCommit:
	default:
		return fmt.Errorf("record request of row %q: unknown kind %q", id, q.Kind)
	}
	var body any
	if q.Body != nil {
		body = q.Body
	}
	_, err := tx.exec(`INSERT INTO requests (client_transfer_id, idempotency_key, kind, body, body_sha256, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_transfer_id, idempotency_key) DO NOTHING`,
		id, q.Key, string(q.Kind), body, BodyHash(q.Body), now)
	if err != nil {
		return fmt.Errorf("record request %s of row %q: %w", q.Key, id, err)
	}
	return nil
}

// requestEvidence is the JSON an intent's event carries about its request:
// the key and the SHA-256 of the body recorded under it (never the body,
// which holds the payee's data).
func requestEvidence(tx *wtx, id, key string) (json.RawMessage, error) {
	var sum string
	if err := tx.queryRow(`SELECT body_sha256 FROM requests WHERE client_transfer_id = ? AND idempotency_key = ?`,
		id, key).Scan(&sum); err != nil {
		return nil, fmt.Errorf("read request %s of row %q: %w", key, id, err)
	}
	return json.Marshal(RequestEvidence{Key: key, BodySHA256: sum})
}

// RequestEvidence is the JSON detail of an event about a recorded request:
// an intent, or a key MassPay refused as reused.
type RequestEvidence struct {
	Key        string `json:"idempotency_key"`
	BodySHA256 string `json:"body_sha256,omitempty"`
}

// RecordRequest records q for row id on its own, for an intent written before
// requests were recorded (a ledger from an older payrun resumed mid-call). A
// key already recorded keeps its first request. It returns the request as
// recorded, which is what must be sent.
func (l *Ledger) RecordRequest(ctx context.Context, id string, q Request) (Request, error) {
	err := l.write(ctx, false, func(tx *wtx) error {
		return insertRequest(tx, id, &q, formatTime(l.now()))
	})
	if err != nil {
		return Request{}, err
	}
	return l.Request(ctx, id, q.Key)
}

// Request returns the request recorded for row id under key, or an error
// matching ErrNotFound.
func (l *Ledger) Request(ctx context.Context, id, key string) (Request, error) {
	var (
		q    Request
		kind string
		body []byte
		at   sql.NullString
	)
	err := l.rqRow(ctx, `SELECT idempotency_key, kind, body, body_sha256, recorded_at
		FROM requests WHERE client_transfer_id = ? AND idempotency_key = ?`, id, key).
		Scan(&q.Key, &kind, &body, &q.SHA256, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fmt.Errorf("read request %s of row %q: %w", key, id, ErrNotFound)
	}
	if err != nil {
		return Request{}, fmt.Errorf("read request %s of row %q: %w", key, id, err)
	}
	q.Kind, q.Body = RequestKind(kind), body
	if q.RecordedAt, err = parseTime(at); err != nil {
		return Request{}, err
	}
	return q, nil
}
