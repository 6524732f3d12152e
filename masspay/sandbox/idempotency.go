package sandbox

import (
	"crypto/sha256"
	"net/http"
	"sync"
	"time"
)

// idemStore remembers the answers of requests sent with an Idempotency-Key,
// scoped to the API key, the way the best payment APIs do:
//   - same key, same method, path and body: the first answer is replayed and
//     nothing is done again;
//   - same key, different request: 422, nothing done;
//   - same key while the first request is still running: 409, nothing done.
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
	copy(fp[:], h.Sum(nil))
	return fp
}

// do runs run once per (scope, key) and replays its answer afterwards.
func (st *idemStore) do(scope [32]byte, key string, fp [32]byte, now time.Time, run func() answer) answer {
	k := string(scope[:]) + "\x00" + key
	st.mu.Lock()
	st.sweep(now)
	if e, ok := st.entries[k]; ok && (!e.done || now.Sub(e.storedAt) < st.retention) {
		st.mu.Unlock()
		switch {
		case e.fp != fp:
			return errAnswer(&apiError{Status: http.StatusUnprocessableEntity, Title: "Idempotency key reused",
				Message: "Idempotency-Key was reused with a different request (method, path or body differ); use a new key for a new request",
				Code:    "IDEMPOTENCY_KEY_REUSED", Reason: "idempotency_key_reused", Details: []string{"Idempotency-Key"}})
		case !e.done:
			return errAnswer(&apiError{Status: http.StatusConflict, Title: "Idempotency key in use",
				Message: "a request with this Idempotency-Key is still being processed; retry later",
				Code:    "IDEMPOTENCY_KEY_IN_USE", Reason: "idempotency_key_in_use", Details: []string{"Idempotency-Key"}})
		default:
			return e.ans
		}
	}
	e := &idemEntry{fp: fp}
	st.entries[k] = e
	st.mu.Unlock()

	a := run()

	st.mu.Lock()
	if a.status < 400 {
		e.done, e.ans, e.storedAt = true, a, now
	} else {
		delete(st.entries, k)
	}
	st.mu.Unlock()
	return a
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
