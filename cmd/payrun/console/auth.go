package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
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

// session is one signed-in person. Sessions live in the ledger
// (ledger.ConsoleSession), so every console on one ledger shares them and a
// restart signs no one out; the ledger keeps the SHA-256 of the id only.
type session struct {
	id   string // the cookie's value; never stored, never logged
	user string
	role ledger.ConsoleRole
	csrf string // the token every form of this session carries (csrfOf id)
	cred string // credOf the user at sign-in: a password change ends the session
}

// maxSessionAge bounds a session however active it is.
const maxSessionAge = 12 * time.Hour

// sessionStore keeps sessions in the ledger.
type sessionStore struct {
	l   *ledger.Ledger
	ttl time.Duration // idle TTL
}

func newSessionStore(l *ledger.Ledger, ttl time.Duration) *sessionStore {
	return &sessionStore{l: l, ttl: ttl}
}

// create starts a new session for user with a fresh id. A new id at every
// sign-in is what defeats session fixation.
func (st *sessionStore) create(ctx context.Context, u ledger.ConsoleUser) (*session, error) {
	id := randomToken(32)
	if _, err := st.l.CreateConsoleSession(ctx, id, ledger.ConsoleSession{User: u.Name, Role: u.Role, Cred: credOf(u)}, st.ttl, maxSessionAge); err != nil {
		return nil, err
	}
	return &session{id: id, user: u.Name, role: u.Role, csrf: csrfOf(id), cred: credOf(u)}, nil
}

// get returns the live session id names, and marks it seen; a session
// unknown, ended or expired is ledger.ErrNotFound.
func (st *sessionStore) get(ctx context.Context, id string) (*session, error) {
	ls, err := st.l.ConsoleSession(ctx, id, st.ttl)
	if err != nil {
		return nil, err
	}
	return &session{id: id, user: ls.User, role: ls.Role, csrf: csrfOf(id), cred: ls.Cred}, nil
}

// drop ends session id, on every console of the ledger.
func (st *sessionStore) drop(ctx context.Context, id string) error {
	return st.l.DropConsoleSession(ctx, id)
}

// csrfOf derives a session's form token from its id, so every console
// computes the same token and the ledger need not store it: the stored hash
// of the id does not give the token (HMAC with the id as key).
func csrfOf(id string) string {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte("payrun console form token v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// credOf fingerprints a user's password hash, so a session can tell that
// the password changed since sign-in without keeping the hash itself.
func credOf(u ledger.ConsoleUser) string {
	sum := sha256.Sum256(u.PasswordHash)
	return hex.EncodeToString(sum[:])
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
//
// The counts live in the ledger (ledger.SigninCounter), read and changed in
// one write transaction per step, so consoles sharing a ledger count every
// attempt once: a load balancer does not multiply a guesser's tries. The
// policy is here; times are the ledger's clock's.
type signinLimiter struct {
	l *ledger.Ledger
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
	// staleInFlight is when an attempt begun and never ended (its console
	// died checking the password) stops counting as in flight.
	staleInFlight = time.Minute
)

func newSigninLimiter(l *ledger.Ledger) *signinLimiter { return &signinLimiter{l: l} }

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

// waitFor is how long a key with counter c must wait before another
// attempt.
func waitFor(c ledger.SigninCounter, free int, now time.Time) time.Duration {
	n := c.Fails + c.InFlight
	if n < free {
		return 0
	}
	if c.InFlight > 0 {
		// Past the free attempts, one guess at a time: the next waits for
		// the outcome of the one being checked.
		return backoffBase
	}
	if until := c.LastFailure.Add(backoff(n, free)); now.Before(until) {
		return until.Sub(now)
	}
	return 0
}

// forget clears what c no longer needs to hold: an in-flight count gone
// stale, failures forgetAfter old.
func forget(c *ledger.SigninCounter, now time.Time) {
	if c.InFlight > 0 && now.Sub(c.InFlightFrom) >= staleInFlight {
		c.InFlight, c.InFlightFrom = 0, time.Time{}
	}
	if c.InFlight == 0 && (c.Fails == 0 || now.Sub(c.LastFailure) >= forgetAfter) {
		*c = ledger.SigninCounter{Key: c.Key}
	}
}

// limiterKeys are the counters of an attempt as name from addr: the name's
// (any case), then the address's, with their free failures.
func limiterKeys(name, addr string) ([]string, []int) {
	return []string{"name:" + strings.ToLower(name), "addr:" + addr}, []int{freeFailures, freeFailuresAddr}
}

// judge decides on an attempt given its keys' counters: the wait (0: go
// ahead) and, when waiting, whether this is the first refusal since the
// last failure (the one worth an event), which it marks in cs.
func judge(cs []ledger.SigninCounter, free []int, now time.Time) (wait time.Duration, note bool) {
	for i := range cs {
		forget(&cs[i], now)
		wait = max(wait, waitFor(cs[i], free[i], now))
	}
	if wait > 0 {
		for i := range cs {
			if (cs[i].Fails > 0 || cs[i].InFlight > 0) && !cs[i].RefusedNoted {
				cs[i].RefusedNoted, note = true, true
			}
		}
	}
	return wait, note
}

// begin counts a sign-in attempt as name from addr before its password is
// checked. When either is backing off it answers how long to wait, a nil
// done, and note set on the first refusal since the last failure (the one
// worth an event); otherwise done must be called with the outcome once the
// password was checked. An error means the ledger failed: nothing was
// checked or counted.
func (l *signinLimiter) begin(ctx context.Context, name, addr string) (done func(signinOutcome) error, wait time.Duration, note bool, err error) {
	keys, free := limiterKeys(name, addr)
	// A refusal already noted changes nothing: answer it from a read, so
	// a flood of refused attempts takes no write lock from the runs.
	if cs, now, err := l.l.SigninCounters(ctx, keys...); err == nil {
		if w, n := judge(cs, free, now); w > 0 && !n {
			return nil, w, false, nil
		}
	}
	admitted := false
	err = l.l.UpdateSigninCounters(ctx, keys, func(now time.Time, cs []ledger.SigninCounter) error {
		if wait, note = judge(cs, free, now); wait > 0 {
			return nil
		}
		for i := range cs {
			cs[i].InFlight++
			cs[i].InFlightFrom = now
		}
		admitted = true
		return nil
	})
	if err != nil {
		return nil, 0, false, err
	}
	if !admitted {
		return nil, wait, note, nil
	}
	return func(o signinOutcome) error {
		// Not the request's context: a client that hangs up must not
		// take its failure off the count.
		return l.l.UpdateSigninCounters(context.WithoutCancel(ctx), keys, func(now time.Time, cs []ledger.SigninCounter) error {
			for i := range cs {
				if cs[i].InFlight > 0 {
					cs[i].InFlight--
				}
				if o == signinFailed {
					cs[i].Fails++
					cs[i].LastFailure = now
					cs[i].RefusedNoted = false
				}
			}
			if o == signinOK {
				// The person knows the password: their name's slate is
				// clean. The address keeps its count, so signing in to
				// one's own account does not buy more guesses at
				// others'.
				cs[0].Fails = 0
			}
			return nil
		})
	}, 0, false, nil
}

// sweepAuth drops the forgettable counters and the expired sessions from the
// ledger; both are refused anyway, this keeps the tables small.
func (s *Server) sweepAuth(ctx context.Context) {
	if _, err := s.cfg.Ledger.SweepConsoleSessions(ctx); err != nil {
		s.cfg.Log.Error().Err(err).Msg("sweep console sessions")
	}
	if _, err := s.cfg.Ledger.SweepSigninCounters(ctx, forgetAfter, staleInFlight); err != nil {
		s.cfg.Log.Error().Err(err).Msg("sweep sign-in counters")
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
