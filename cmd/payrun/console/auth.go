package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/payrun/payrun/ledger"
)

// MinPasswordLength is the shortest password a console user may have.
const MinPasswordLength = 10

// bcryptCost is the work factor of new hashes. Tests lower it.
var bcryptCost = bcrypt.DefaultCost

// ErrWeakPassword means a password is shorter than MinPasswordLength or
// longer than bcrypt can hash (72 bytes).
var ErrWeakPassword = fmt.Errorf("password must be %d to 72 characters", MinPasswordLength)

// HashPassword returns the bcrypt hash of password, refusing one that is too
// short or longer than the 72 bytes bcrypt reads.
func HashPassword(password string) ([]byte, error) {
	if len(password) < MinPasswordLength || len(password) > 72 {
		return nil, ErrWeakPassword
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// checkPassword reports whether password matches hash.
func checkPassword(hash []byte, password string) bool {
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

// dummyHash is compared against when the user does not exist, so a sign-in
// for an unknown name takes as long as one with a wrong password.
// It is made on first use: every payrun command links this package.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("payrun-no-such-user"), bcryptCost)
	return h
})

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares two secrets in constant time.
func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// session is one signed-in person. Sessions live in memory: restarting the
// console signs everyone out, which is the safe direction.
type session struct {
	id       string
	user     string
	role     ledger.ConsoleRole
	csrf     string // the token every form of this session carries
	cred     string // credOf the user at sign-in: a password change ends the session
	created  time.Time
	lastSeen time.Time
}

// maxSessionAge bounds a session however active it is.
const maxSessionAge = 12 * time.Hour

// sessionStore holds the live sessions.
type sessionStore struct {
	mu    sync.Mutex
	clock func() time.Time
	ttl   time.Duration
	m     map[string]*session
}

func newSessionStore(clock func() time.Time, ttl time.Duration) *sessionStore {
	return &sessionStore{clock: clock, ttl: ttl, m: map[string]*session{}}
}

// create starts a new session for user with a fresh id and CSRF token. A new
// id at every sign-in is what defeats session fixation.
func (st *sessionStore) create(u ledger.ConsoleUser) *session {
	now := st.clock()
	s := &session{id: randomToken(32), user: u.Name, role: u.Role, csrf: randomToken(32), cred: credOf(u), created: now, lastSeen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sweep(now)
	st.m[s.id] = s
	return s
}

// get returns the live session id names, and marks it seen.
func (st *sessionStore) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	now := st.clock()
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.m[id]
	if !ok {
		return nil, false
	}
	if st.expired(s, now) {
		delete(st.m, id)
		return nil, false
	}
	s.lastSeen = now
	cp := *s
	return &cp, true
}

// credOf fingerprints a user's password hash, so a session can tell that
// the password changed since sign-in without keeping the hash itself.
func credOf(u ledger.ConsoleUser) string {
	sum := sha256.Sum256(u.PasswordHash)
	return string(sum[:])
}

// drop ends session id.
func (st *sessionStore) drop(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, id)
}

func (st *sessionStore) expired(s *session, now time.Time) bool {
	return now.Sub(s.lastSeen) > st.ttl || now.Sub(s.created) > maxSessionAge
}

// sweep drops expired sessions; called with mu held.
func (st *sessionStore) sweep(now time.Time) {
	for id, s := range st.m {
		if st.expired(s, now) {
			delete(st.m, id)
		}
	}
}

// signinLimiter slows password guessing, per user name and per client
// address. An attempt is counted when it starts, before the ~80 ms password
// hash, so guesses sent in parallel cannot all slip past the check before
// the first failure is recorded. The first freeFailures (per name) or
// freeFailuresAddr (per address) failures cost nothing; every further
// attempt waits a back-off that doubles from backoffBase up to backoffMax
// after the last failure. A name is therefore never locked for long (a
// stranger can delay the approver by minutes, not lock them out), while a
// guesser gets about two dozen tries an hour at a name. Failures are
// forgotten forgetAfter after the last one, and a name's on a successful
// sign-in.
type signinLimiter struct {
	mu    sync.Mutex
	clock func() time.Time
	keys  map[string]*attempts
}

// attempts is what the limiter knows of one name or address.
type attempts struct {
	fails    int       // failures not yet forgotten
	inFlight int       // attempts begun whose password is being checked
	last     time.Time // the last failure
	// refusedNoted is set once a refusal since the last failure was
	// reported, so a flood of refused attempts writes one event, not one
	// per request.
	refusedNoted bool
}

// signinOutcome is what became of an attempt begin let through.
type signinOutcome int

const (
	signinFailed  signinOutcome = iota // wrong password, unknown or disabled user
	signinOK                           // signed in
	signinAborted                      // the password was not judged (the ledger failed)
)

const (
	freeFailures     = 5
	freeFailuresAddr = 20 // an office behind one address holds many people
	backoffBase      = time.Second
	backoffMax       = 5 * time.Minute
	forgetAfter      = time.Hour
	// maxLimiterKeys bounds the limiter's memory against made-up names;
	// past it, stale keys are swept at every attempt.
	maxLimiterKeys = 10000
)

func newSigninLimiter(clock func() time.Time) *signinLimiter {
	return &signinLimiter{clock: clock, keys: map[string]*attempts{}}
}

// backoff is the wait before attempt number n (0-based) of a key allowed
// free failures before back-off starts.
func backoff(n, free int) time.Duration {
	if n < free {
		return 0
	}
	d := backoffBase
	for i := free; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// wait is how long key k must wait before another attempt; called with mu
// held.
func (l *signinLimiter) wait(k string, free int, now time.Time) time.Duration {
	a := l.keys[k]
	if a == nil {
		return 0
	}
	n := a.fails + a.inFlight
	if n < free {
		return 0
	}
	if a.inFlight > 0 {
		// Past the free attempts, one guess at a time: the next waits for
		// the outcome of the one being checked.
		return backoffBase
	}
	if until := a.last.Add(backoff(n, free)); now.Before(until) {
		return until.Sub(now)
	}
	return 0
}

// begin counts a sign-in attempt as name from addr before its password is
// checked. When either is backing off it answers how long to wait, a nil
// done, and note set on the first refusal since the last failure (the one
// worth an event); otherwise done must be called with the outcome once the
// password was checked.
func (l *signinLimiter) begin(name, addr string) (done func(signinOutcome), wait time.Duration, note bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock()
	if len(l.keys) >= maxLimiterKeys {
		l.sweep(now)
	}
	nk, ak := "name:"+strings.ToLower(name), "addr:"+addr
	l.forget(nk, now)
	l.forget(ak, now)
	wait = max(l.wait(nk, freeFailures, now), l.wait(ak, freeFailuresAddr, now))
	if wait > 0 {
		for _, k := range []string{nk, ak} {
			if a := l.keys[k]; a != nil && !a.refusedNoted {
				a.refusedNoted, note = true, true
			}
		}
		return nil, wait, note
	}
	for _, k := range []string{nk, ak} {
		if l.keys[k] == nil {
			l.keys[k] = &attempts{}
		}
		l.keys[k].inFlight++
	}
	return func(o signinOutcome) {
		l.mu.Lock()
		defer l.mu.Unlock()
		now := l.clock()
		for _, k := range []string{nk, ak} {
			a := l.keys[k]
			a.inFlight--
			if o == signinFailed {
				a.fails++
				a.last = now
				a.refusedNoted = false
			}
		}
		if o == signinOK {
			// The person knows the password: their name's slate is clean.
			// The address keeps its count, so signing in to one's own
			// account does not buy more guesses at others'.
			l.keys[nk].fails = 0
		}
	}, 0, false
}

// forget drops k's failures once the last is forgetAfter old; called with
// mu held.
func (l *signinLimiter) forget(k string, now time.Time) {
	if a := l.keys[k]; a != nil && a.inFlight == 0 && (a.fails == 0 || now.Sub(a.last) >= forgetAfter) {
		delete(l.keys, k)
	}
}

// sweep drops every forgettable key; called with mu held.
func (l *signinLimiter) sweep(now time.Time) {
	for k := range l.keys {
		l.forget(k, now)
	}
}

// Roles and what they may do.

// canPrepare reports whether role may upload sheets, record plans and start
// approved runs.
func canPrepare(role ledger.ConsoleRole) bool {
	return role == ledger.RolePreparer || role == ledger.RoleApprover
}

// canApprove reports whether role may approve or reject someone else's plan.
func canApprove(role ledger.ConsoleRole) bool { return role == ledger.RoleApprover }
