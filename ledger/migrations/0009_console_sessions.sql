-- 0009: the web console's sign-in sessions and sign-in back-off counters
-- live in the ledger, so several consoles on one ledger (behind a load
-- balancer) share sign-ins, sign-outs and back-offs, and a restart signs no
-- one out. New tables only: constant time on any ledger. Plain SQL (no
-- STRICT, no SQLite-only types) so the PostgreSQL dialect can use it as is.
-- Times are RFC 3339 text with a fixed nine-digit fraction, as everywhere in
-- the ledger, so they compare correctly as text.

-- One row per live session. id_hash is the hex SHA-256 of the session id;
-- the id itself (the cookie) is never stored, so a copy of the ledger (a
-- backup, an archive) signs no one in. The CSRF token is derived from the
-- id (HMAC), so it is not stored either. cred fingerprints the user's
-- password hash at sign-in: a new password ends the session. expires_at is
-- the idle expiry (last use + idle TTL, never after ends_at); ends_at the
-- maximum age. The table holds a few rows per console user: no index.
CREATE TABLE console_sessions (
	id_hash    TEXT   PRIMARY KEY,
	user_name  TEXT   NOT NULL,
	role       TEXT   NOT NULL,
	cred       TEXT   NOT NULL,
	created_at TEXT   NOT NULL,
	last_seen  TEXT   NOT NULL,
	expires_at TEXT   NOT NULL,
	ends_at    TEXT   NOT NULL
);

-- Failed sign-in counts, one row per key ("name:<lower-case name>",
-- "addr:<client address>"). in_flight counts attempts whose password is
-- being checked, in_flight_since when the latest began (a console that died
-- mid-check leaves a count that goes stale). refused_noted is 1 once a
-- refusal since the last failure was recorded as an event.
CREATE TABLE console_signin_counters (
	counter_key     TEXT    PRIMARY KEY,
	fails           INTEGER NOT NULL DEFAULT 0,
	last_failure    TEXT    NOT NULL DEFAULT '',
	in_flight       INTEGER NOT NULL DEFAULT 0,
	in_flight_since TEXT    NOT NULL DEFAULT '',
	refused_noted   INTEGER NOT NULL DEFAULT 0
);
