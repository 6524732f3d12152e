-- 0011: sheet leases, so `payrun inbox` on several hosts against one ledger
-- takes each sheet once (see sheet_leases.go). One row per sheet ever
-- taken, keyed by its content (sheet_key); lease_owner names the inbox
-- holding it (host/pid/random, '' when none), lease_until is when its
-- lease lapses (RFC 3339 text with a nine-digit fraction, so it compares as
-- text), and gen is the fencing generation: it grows by one at every take,
-- and renewals and releases are compare-and-set on it. A new, small table:
-- constant time on any ledger, and the same on both dialects.
CREATE TABLE sheet_leases (
	sheet_key   TEXT    PRIMARY KEY CHECK (length(sheet_key) > 0),
	sheet_name  TEXT    NOT NULL DEFAULT '',
	lease_owner TEXT    NOT NULL DEFAULT '',
	lease_until TEXT    NOT NULL DEFAULT '',
	gen         INTEGER NOT NULL DEFAULT 0 CHECK (gen >= 0),
	taken_at    TEXT    NOT NULL DEFAULT '',
	CHECK ((lease_owner = '') = (lease_until = '')),
	CHECK (lease_owner = '' OR gen > 0)
);
