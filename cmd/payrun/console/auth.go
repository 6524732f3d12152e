package console

import (
	"crypto/rand"
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
func (st *sessionStore) create(user string, role ledger.ConsoleRole) *session {
	now := st.clock()
	s := &session{id: randomToken(32), user: user, role: role, csrf: randomToken(32), created: now, lastSeen: now}
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

// signinLimiter slows password guessing: after maxFailures failed sign-ins
// for one name within failureWindow, that name is refused until the window
// passes, whatever the password.
type signinLimiter struct {
	mu    sync.Mutex
	clock func() time.Time
	fails map[string][]time.Time
}

const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
)

func newSigninLimiter(clock func() time.Time) *signinLimiter {
	return &signinLimiter{clock: clock, fails: map[string][]time.Time{}}
}

func (l *signinLimiter) key(name string) string { return strings.ToLower(name) }

// blocked reports whether name has failed too often lately.
func (l *signinLimiter) blocked(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(l.key(name))) >= maxFailures
}

func (l *signinLimiter) fail(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.key(name)
	l.fails[k] = append(l.recent(k), l.clock())
}

func (l *signinLimiter) succeed(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, l.key(name))
}

// recent returns k's failures within the window; called with mu held.
func (l *signinLimiter) recent(k string) []time.Time {
	now := l.clock()
	ts := l.fails[k][:0:0]
	for _, t := range l.fails[k] {
		if now.Sub(t) < failureWindow {
			ts = append(ts, t)
		}
	}
	if len(ts) == 0 {
		delete(l.fails, k)
	} else {
		l.fails[k] = ts
	}
	return ts
}

// Roles and what they may do.

// canPrepare reports whether role may upload sheets, record plans and start
// approved runs.
func canPrepare(role ledger.ConsoleRole) bool {
	return role == ledger.RolePreparer || role == ledger.RoleApprover
}

// canApprove reports whether role may approve or reject someone else's plan.
func canApprove(role ledger.ConsoleRole) bool { return role == ledger.RoleApprover }
