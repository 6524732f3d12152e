package sandbox

import (
	"crypto/sha256"
	"net/http"
	"sync"
	"time"
)

// idemStore remembers the answers of requests sent with an Idempotency-Key,
// the way the best payment APIs do:
//   - same key, same method, path and body: the first answer is replayed and
//     nothing is done again;
//   - same key, different request: 422, nothing done;
//   - same key while the first request is still running: 409, nothing done.
//
// Keys are scoped to the API key; a Sandbox accepts exactly one API key, so
// the store of a Sandbox is that scope.
//
// Only answers below 400 are kept: a refused request changed nothing, so a
// retry after the cause is fixed (a KYC hold lifted, funds added) runs anew.
type idemStore struct {
	mu        sync.Mutex
	retention time.Duration
	entries   map[string]*idemEntry
	lastSweep time.Time
}

type idemEntry struct {
	fp       [32]byte
	done     bool
	ans      answer
	storedAt time.Time
}

func newIdemStore(retention time.Duration) *idemStore {
	return &idemStore{retention: retention, entries: map[string]*idemEntry{}}
}

// fingerprint identifies a request: method, path with query, body.
func fingerprint(r *http.Request, body []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(r.Method))
	h.Write([]byte{0})
	h.Write([]byte(r.URL.Path))
	h.Write([]byte{0})
	h.Write([]byte(r.URL.RawQuery))
	h.Write([]byte{0})
	h.Write(body)
	var fp [32]byte
	h.Sum(fp[:0])
	return fp
}

// Answers of the store that run nothing.
var (
	idemReused = errAnswer(&apiError{Status: http.StatusUnprocessableEntity, Title: "Idempotency key reused",
		Message: "Idempotency-Key was reused with a different request (method, path or body differ); use a new key for a new request",
		Code:    "IDEMPOTENCY_KEY_REUSED", Reason: "idempotency_key_reused", Details: []string{"Idempotency-Key"}})
	idemInUse = errAnswer(&apiError{Status: http.StatusConflict, Title: "Idempotency key in use",
		Message: "a request with this Idempotency-Key is still being processed; retry later",
		Code:    "IDEMPOTENCY_KEY_IN_USE", Reason: "idempotency_key_in_use", Details: []string{"Idempotency-Key"}})
)

// begin looks key up. When the request must not run it returns the answer
// to give instead (the replay of the first answer, 409 or 422); otherwise it
// marks key in flight and returns its entry, which finish completes.
func (st *idemStore) begin(key string, fp [32]byte, now time.Time) (*idemEntry, *answer) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweep(now)
	if e, ok := st.entries[key]; ok && (!e.done || now.Sub(e.storedAt) < st.retention) {
		switch {
		case e.fp != fp:
			return nil, &idemReused
		case !e.done:
			return nil, &idemInUse
		default:
			a := e.ans
			return nil, &a
		}
	}
	e := &idemEntry{fp: fp}
	st.entries[key] = e
	return e, nil
}

// finish records the answer of the request that begin let run: kept when
// below 400, forgotten otherwise. With a state file, callers hold s.mu, so
// that the record is saved in the same snapshot as the request's effect.
func (st *idemStore) finish(key string, e *idemEntry, a answer, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if a.status < 400 {
		e.done, e.ans, e.storedAt = true, a, now
	} else if st.entries[key] == e {
		delete(st.entries, key)
	}
}

// sweep drops expired entries at most once a minute of sandbox time.
func (st *idemStore) sweep(now time.Time) {
	if now.Sub(st.lastSweep) < time.Minute {
		return
	}
	st.lastSweep = now
	for k, e := range st.entries {
		if e.done && now.Sub(e.storedAt) >= st.retention {
			delete(st.entries, k)
		}
	}
}

func errAnswer(e *apiError) answer {
	rec := &bufWriter{header: http.Header{}}
	writeError(rec, e)
	return answer{status: rec.status, body: rec.buf}
}
