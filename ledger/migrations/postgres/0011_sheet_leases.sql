-- 0011: sheet leases, so `payrun inbox` on several hosts against one ledger
-- takes each sheet once (see sheet_leases.go). The PostgreSQL form of the
-- SQLite migration with the same number: text sorts bytewise (COLLATE "C").
-- One row per sheet ever taken, keyed by its content (sheet_key);
-- lease_owner names the inbox holding it (host/pid/random, '' when none),
-- lease_until is when its lease lapses (RFC 3339 text with a nine-digit
-- fraction, so it compares as text), and gen is the fencing generation: it
-- grows by one at every take, and renewals and releases are compare-and-set
-- on it. A new, small table: constant time on any ledger.
CREATE TABLE sheet_leases (
	sheet_key   TEXT COLLATE "C" PRIMARY KEY CHECK (length(sheet_key) > 0),
	sheet_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
	lease_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
	lease_until TEXT COLLATE "C" NOT NULL DEFAULT '',
	gen         BIGINT NOT NULL DEFAULT 0 CHECK (gen >= 0),
	taken_at    TEXT COLLATE "C" NOT NULL DEFAULT '',
	CHECK ((lease_owner = '') = (lease_until = '')),
	CHECK (lease_owner = '' OR gen > 0)
);
