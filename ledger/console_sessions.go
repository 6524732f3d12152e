package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Console sessions and sign-in counters live in the ledger (migration 0009)
// so that every console serving one ledger shares them: a sign-in on one
// instance works on another behind the same load balancer, a sign-out or a
// back-off holds on all of them, and a restart signs no one out. The ledger
// stores the SHA-256 of a session id, never the id: a copied ledger (a
// backup, an archive, a stolen file) cannot be turned into a cookie.
//
// The SQL is plain (ON CONFLICT, text times, no SQLite-only functions) so
// a PostgreSQL dialect can run it unchanged.

// SessionTouchEvery is how stale a session's last use may get before
// ConsoleSession writes it: a page view within it of the last recorded use
// is a read only, so browsing is not a ledger write per page. The idle
// expiry is counted from the recorded use, so a session may end up to this
// much before its idle TTL has passed since the very last page.
const SessionTouchEvery = time.Minute

// ConsoleSession is one signed-in person of the web console, as the ledger
// keeps it. The session id that names it is not part of it: only its hash is
// stored.
type ConsoleSession struct {
	User     string
	Role     ConsoleRole // the role at sign-in; the console re-reads the user
	Cred     string      // fingerprint of the user's password hash at sign-in
	Created  time.Time
	LastSeen time.Time // the last recorded use (see SessionTouchEvery)
	Expires  time.Time // idle expiry: LastSeen + idle TTL, never after Ends
	Ends     time.Time // Created + maximum age
}

// SessionIDHash is the hex SHA-256 of a session id: the key the ledger stores
// a session under.
func SessionIDHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// CreateConsoleSession records a new session named id for s.User, starting
// now by the ledger's clock, lasting idle without use and maxAge at most. It
// returns the session as stored. id must be a fresh random secret; only its
// hash is written.
func (l *Ledger) CreateConsoleSession(ctx context.Context, id string, s ConsoleSession, idle, maxAge time.Duration) (ConsoleSession, error) {
	if len(id) < 16 || s.User == "" || idle <= 0 || maxAge <= 0 {
		return ConsoleSession{}, fmt.Errorf("create console session of %q: short id, no user or no lifetime", s.User)
	}
	now := l.now()
	s.Created, s.LastSeen, s.Ends = now, now, now.Add(maxAge)
	s.Expires = minTime(now.Add(idle), s.Ends)
	err := l.write(ctx, false, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO console_sessions (id_hash, user_name, role, cred, created_at, last_seen, expires_at, ends_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, SessionIDHash(id), s.User, string(s.Role), s.Cred,
			formatTime(s.Created), formatTime(s.LastSeen), formatTime(s.Expires), formatTime(s.Ends))
		return err
	})
	if err != nil {
		return ConsoleSession{}, fmt.Errorf("create console session of %q: %w", s.User, err)
	}
	return s, nil
}

// ConsoleSession returns the live session named id and records its use,
// extending its idle expiry to idle from now (never past its maximum age).
// The use is written only when the recorded one is SessionTouchEvery old or
// more. A session unknown, dropped or expired is ErrNotFound; an expired one
// is removed.
func (l *Ledger) ConsoleSession(ctx context.Context, id string, idle time.Duration) (ConsoleSession, error) {
	if id == "" {
		return ConsoleSession{}, fmt.Errorf("read console session: %w", ErrNotFound)
	}
	h := SessionIDHash(id)
	s, err := scanConsoleSession(l.rqRow(ctx, `SELECT user_name, role, cred, created_at, last_seen, expires_at, ends_at
		FROM console_sessions WHERE id_hash = ?`, h))
	if err != nil {
		return ConsoleSession{}, notFound(err, "read console session")
	}
	now := l.now()
	if !now.Before(s.Expires) || !now.Before(s.Ends) {
		if err := l.write(ctx, false, func(tx *wtx) error {
			_, err := tx.exec(`DELETE FROM console_sessions WHERE id_hash = ? AND expires_at = ?`, h, formatTime(s.Expires))
			return err
		}); err != nil {
			return ConsoleSession{}, fmt.Errorf("drop expired console session: %w", err)
		}
		return ConsoleSession{}, fmt.Errorf("read console session: %w", ErrNotFound)
	}
	if now.Sub(s.LastSeen) < SessionTouchEvery {
		return s, nil
	}
	expires := minTime(now.Add(idle), s.Ends)
	err = l.write(ctx, false, func(tx *wtx) error {
		// last_seen only moves forward: another console may have
		// recorded a later use meanwhile.
		res, err := tx.exec(`UPDATE console_sessions SET last_seen = ?, expires_at = ?
			WHERE id_hash = ? AND last_seen < ?`, formatTime(now), formatTime(expires), h, formatTime(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		// Either a later use was recorded, or the session was dropped
		// (signed out on another console) since it was read.
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM console_sessions WHERE id_hash = ?`, h).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return ConsoleSession{}, fmt.Errorf("record console session use: %w", err)
	}
	s.LastSeen, s.Expires = now, expires
	return s, nil
}

func scanConsoleSession(sc scanner) (ConsoleSession, error) {
	var (
		s                            ConsoleSession
		role                         string
		created, seen, expires, ends sql.NullString
	)
	if err := sc.Scan(&s.User, &role, &s.Cred, &created, &seen, &expires, &ends); err != nil {
		return ConsoleSession{}, err
	}
	s.Role = ConsoleRole(role)
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&s.Created, created}, {&s.LastSeen, seen}, {&s.Expires, expires}, {&s.Ends, ends}} {
		t, err := parseTime(f.src)
		if err != nil {
			return ConsoleSession{}, err
		}
		*f.dst = t
	}
	return s, nil
}

// DropConsoleSession ends the session named id (sign-out, a new sign-in in
// the same browser). Ending one that is gone is not an error.
func (l *Ledger) DropConsoleSession(ctx context.Context, id string) error {
	err := l.write(ctx, false, func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM console_sessions WHERE id_hash = ?`, SessionIDHash(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("drop console session: %w", err)
	}
	return nil
}

// DropConsoleSessionsOf ends every session of console user name (any case),
// as a new password, a disable or a removal must, and returns how many.
func (l *Ledger) DropConsoleSessionsOf(ctx context.Context, name string) (int64, error) {
	var n int64
	err := l.write(ctx, false, func(tx *wtx) error {
		// lower() on both sides, not COLLATE NOCASE: PostgreSQL has no
		// NOCASE collation. Names are ASCII in practice; lower() of
		// either engine folds ASCII alike.
		res, err := tx.exec(`DELETE FROM console_sessions WHERE lower(user_name) = lower(?)`, name)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("drop console sessions of %q: %w", name, err)
	}
	return n, nil
}

// SweepConsoleSessions removes every session expired by the ledger's clock
// and returns how many. Expired sessions are refused anyway; sweeping only
// keeps the table small.
func (l *Ledger) SweepConsoleSessions(ctx context.Context) (int64, error) {
	now := formatTime(l.now())
	var n int64
	err := l.write(ctx, false, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM console_sessions WHERE expires_at <= ? OR ends_at <= ?`, now, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweep console sessions: %w", err)
	}
	return n, nil
}

// SigninCounter is what the ledger keeps of the console sign-in attempts of
// one key ("name:..." or "addr:..."): the console's back-off policy reads and
// changes it through UpdateSigninCounters.
type SigninCounter struct {
	Key          string
	Fails        int       // failures not yet forgotten
	LastFailure  time.Time // zero when none
	InFlight     int       // attempts begun whose password is being checked
	InFlightFrom time.Time // when the latest of them began
	// RefusedNoted is set once a refusal since the last failure was
	// recorded as an event.
	RefusedNoted bool
}

// sameCounter reports whether a and b would be stored alike.
func sameCounter(a, b SigninCounter) bool {
	if a.empty() && b.empty() {
		return true
	}
	return a.Fails == b.Fails && a.LastFailure.Equal(b.LastFailure) && a.InFlight == b.InFlight &&
		a.InFlightFrom.Equal(b.InFlightFrom) && a.RefusedNoted == b.RefusedNoted
}

// empty reports whether c holds nothing worth keeping.
func (c SigninCounter) empty() bool { return c.Fails == 0 && c.InFlight == 0 }

// UpdateSigninCounters reads the counters of keys (a key never seen, or
// forgotten, reads as zero), lets update change them, and writes them back,
// all in one write transaction: consoles sharing the ledger count every
// attempt exactly once, however their requests interleave. update is given
// the ledger's clock's now. A counter left with no failures and nothing in
// flight is deleted. An error from update writes nothing and is returned.
//
// update runs on the ledger's writer: it must be quick and must not call the
// ledger.
func (l *Ledger) UpdateSigninCounters(ctx context.Context, keys []string, update func(now time.Time, cs []SigninCounter) error) error {
	err := l.write(ctx, false, func(tx *wtx) error {
		now := l.now()
		cs := make([]SigninCounter, len(keys))
		for i, k := range keys {
			c, err := readSigninCounter(tx, k)
			if err != nil {
				return err
			}
			cs[i] = c
		}
		was := append([]SigninCounter(nil), cs...)
		if err := update(now, cs); err != nil {
			return err
		}
		for i, c := range cs {
			c.Key = keys[i] // update may not rename a counter
			if sameCounter(c, was[i]) {
				continue // a refusal already noted changes nothing: no write
			}
			if c.empty() {
				if _, err := tx.exec(`DELETE FROM console_signin_counters WHERE counter_key = ?`, c.Key); err != nil {
					return err
				}
				continue
			}
			noted := 0
			if c.RefusedNoted {
				noted = 1
			}
			if _, err := tx.exec(`INSERT INTO console_signin_counters (counter_key, fails, last_failure, in_flight, in_flight_since, refused_noted)
				VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (counter_key) DO UPDATE SET fails = excluded.fails, last_failure = excluded.last_failure,
					in_flight = excluded.in_flight, in_flight_since = excluded.in_flight_since, refused_noted = excluded.refused_noted`,
				c.Key, c.Fails, textTime(c.LastFailure), c.InFlight, textTime(c.InFlightFrom), noted); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("update sign-in counters: %w", err)
	}
	return nil
}

// SigninCounters returns the counters of keys as stored (zero for a key with
// none), for reading only, and the ledger's clock's time they were read at
// (to judge them by, as UpdateSigninCounters's update is).
func (l *Ledger) SigninCounters(ctx context.Context, keys ...string) ([]SigninCounter, time.Time, error) {
	now := l.now()
	out := make([]SigninCounter, len(keys))
	for i, k := range keys {
		c, err := scanSigninCounter(k, l.rqRow(ctx, `SELECT fails, last_failure, in_flight, in_flight_since, refused_noted
			FROM console_signin_counters WHERE counter_key = ?`, k))
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("read sign-in counters: %w", err)
		}
		out[i] = c
	}
	return out, now, nil
}

// SweepSigninCounters deletes the counters whose last failure is at least
// forgetAfter old (by the ledger's clock) and that have nothing in flight
// begun in the last staleAfter (an older attempt was cut short by a console
// that died), and returns how many.
func (l *Ledger) SweepSigninCounters(ctx context.Context, forgetAfter, staleAfter time.Duration) (int64, error) {
	now := l.now()
	var n int64
	err := l.write(ctx, false, func(tx *wtx) error {
		res, err := tx.exec(`DELETE FROM console_signin_counters WHERE last_failure <= ? AND (in_flight = 0 OR in_flight_since <= ?)`,
			formatTime(now.Add(-forgetAfter)), formatTime(now.Add(-staleAfter)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sweep sign-in counters: %w", err)
	}
	return n, nil
}

func readSigninCounter(tx *wtx, key string) (SigninCounter, error) {
	return scanSigninCounter(key, tx.queryRow(`SELECT fails, last_failure, in_flight, in_flight_since, refused_noted
		FROM console_signin_counters WHERE counter_key = ?`, key))
}

func scanSigninCounter(key string, sc scanner) (SigninCounter, error) {
	c := SigninCounter{Key: key}
	var last, since sql.NullString
	var noted int
	err := sc.Scan(&c.Fails, &last, &c.InFlight, &since, &noted)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return SigninCounter{}, err
	}
	if c.LastFailure, err = parseTime(last); err != nil {
		return SigninCounter{}, err
	}
	if c.InFlightFrom, err = parseTime(since); err != nil {
		return SigninCounter{}, err
	}
	c.RefusedNoted = noted != 0
	return c, nil
}

// textTime stores the zero time as ” (the counters' columns are NOT NULL).
func textTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
