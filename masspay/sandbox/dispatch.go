package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// request is what a handler sees.
type request struct {
	r    *http.Request
	seg  []string
	q    url.Values
	body []byte
	// mutating is true for POST, PUT, PATCH and DELETE: requests that may
	// change state and take an Idempotency-Key.
	mutating bool
}

// handler serves one endpoint under s.mu and returns the answer.
type handler func(s *Sandbox, rq *request) (int, any, *apiError)

// answer is a finished response, kept for idempotent replays.
type answer struct {
	status int
	body   []byte
}

// ServeHTTP serves the API: authentication, routing, faults, idempotency,
// then the endpoint.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.log.GetLevel() > zerolog.DebugLevel {
		s.serve(w, r) // nothing to log: skip the clock reads too
		return
	}
	start := time.Now()
	status := s.serve(w, r)
	s.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).
		Dur("took", time.Since(start)).Msg("sandbox request")
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) int {
	if !s.authorized(r) {
		e := &apiError{Status: http.StatusUnauthorized, Title: "Unauthorized", Message: "missing or invalid API key", Code: "UNAUTHORIZED"}
		writeError(w, e)
		return e.Status
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if strings.HasPrefix(path, "/_sandbox/") {
		return s.serveAdmin(w, r, strings.Split(strings.TrimPrefix(path, "/_sandbox/"), "/"))
	}
	if path != apiPrefix && !strings.HasPrefix(path, apiPrefix+"/") {
		writeError(w, notFound("no such path %s", r.URL.Path))
		return http.StatusNotFound
	}
	seg := strings.Split(strings.TrimPrefix(path, apiPrefix+"/"), "/")
	h, rerr := lookupRoute(r.Method, seg)
	if s.cfg.NoBestRoute && isBestPath(seg) {
		h, rerr = nil, notFound("no such path /%s", strings.Join(seg, "/"))
	}
	if rerr != nil {
		writeError(w, rerr)
		return rerr.Status
	}
	s.requests.add(r.Method, seg)
	if st, ok := s.injectFaults(w, r); !ok {
		return st
	}
	lost := s.roll(func(f Faults) float64 { return f.LostResponseRate })
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		e := badField("body", "invalid_body", "request body could not be read or is larger than %d bytes", maxBody)
		writeError(w, e)
		return e.Status
	}
	rq := &request{r: r, seg: seg, q: r.URL.Query(), body: body,
		mutating: r.Method != http.MethodGet && r.Method != http.MethodHead}
	var a answer
	if key := r.Header.Get("Idempotency-Key"); key != "" && rq.mutating {
		now := s.Now()
		e, replay := s.idem.begin(key, fingerprint(r, body), now)
		if replay != nil {
			a = *replay
		} else {
			a = s.call(h, rq, func(a answer) {
				s.idem.finish(key, e, a, now)
				s.touchIdem(key) // under s.mu with a state file, as call runs it
			})
		}
	} else {
		a = s.call(h, rq, nil)
	}
	if err := s.sync(); err != nil {
		a = stateNotSaved
	}
	if lost && dropConnection(w) {
		return 0
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	w.Write(a.body)
	return a.status
}

// call runs h under the state lock after bringing the clock's due status
// changes up to date, and hands the answer to done (the idempotency record)
// when done is not nil. With a state file, done runs under the lock too, so
// that no snapshot holds the effect of a request without its record.
func (s *Sandbox) call(h handler, rq *request, done func(answer)) answer {
	s.mu.Lock()
	s.catchUp(s.Now())
	status, v, aerr := h(s, rq)
	if rq.mutating {
		s.ver.Add(1)
	}
	var a answer
	if done != nil && s.store != nil {
		a = encodeAnswer(status, v, aerr)
		done(a)
		s.mu.Unlock()
	} else {
		s.mu.Unlock()
		a = encodeAnswer(status, v, aerr)
		if done != nil {
			done(a)
		}
	}
	s.hooks.kick()
	return a
}

// encodeAnswer renders a handler's result as the JSON answer.
func encodeAnswer(status int, v any, aerr *apiError) answer {
	if aerr != nil {
		status, v = aerr.Status, aerr.body()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return answer{status: http.StatusInternalServerError, body: []byte(internalError + "\n")}
	}
	return answer{status: status, body: append(b, '\n')}
}

// bufWriter is a minimal in-memory http.ResponseWriter.
type bufWriter struct {
	header http.Header
	status int
	buf    []byte
}

func (b *bufWriter) Header() http.Header         { return b.header }
func (b *bufWriter) WriteHeader(status int)      { b.status = status }
func (b *bufWriter) Write(p []byte) (int, error) { b.buf = append(b.buf, p...); return len(p), nil }

// authorized accepts "Bearer KEY", "bearer KEY" and the bare key, compared in
// constant time.
func (s *Sandbox) authorized(r *http.Request) bool {
	v := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	if v == "" {
		return false
	}
	sum := sha256.Sum256([]byte(v))
	return subtle.ConstantTimeCompare(sum[:], s.keySum[:]) == 1
}

// dropConnection hijacks and closes the connection without writing an
// answer: the request was processed, the client will never know.
func dropConnection(w http.ResponseWriter) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
