-- 0011: sheet leases and run leases, two new small tables: constant time
-- on any ledger, and the same on both dialects.
--
-- Sheet leases, so `payrun inbox` on several hosts against one ledger
-- takes each sheet once (see sheet_leases.go). One row per sheet ever
-- taken, keyed by its content (sheet_key); lease_owner names the inbox
-- holding it (host/pid/random, '' when none), lease_until is when its
-- lease lapses (RFC 3339 text with a nine-digit fraction, so it compares as
-- text), and gen is the fencing generation: it grows by one at every take,
-- and renewals and releases are compare-and-set on it.
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

-- Run leases: a payrun run on a PostgreSQL ledger holds no ledger lock
-- (several runners share a run through row claims), so each runner says
-- here that it is working, under a lease it renews (see run_leases.go):
-- what would clash with a run (payrun autopay apply, the inbox's ledger
-- probe) sees it. owner is the runner's claim owner (host/pid/random);
-- command what it runs. A runner that died leaves a row whose lease
-- lapsed, which counts for nothing and is swept by the next runner.
CREATE TABLE run_leases (
	owner       TEXT    PRIMARY KEY CHECK (length(owner) > 0),
	run_id      INTEGER NOT NULL CHECK (run_id > 0),
	command     TEXT    NOT NULL DEFAULT '',
	started_at  TEXT    NOT NULL CHECK (length(started_at) > 0),
	lease_until TEXT    NOT NULL CHECK (lease_until >= started_at)
);
