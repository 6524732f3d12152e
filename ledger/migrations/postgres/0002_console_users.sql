-- 0002: people who may sign in to the web console (payrun serve).
-- The password is a bcrypt hash; names compare without regard to case.
-- SQLite's NOCASE is a collation PostgreSQL lacks: nocase is its
-- nondeterministic ICU equivalent (case-insensitive, accent-sensitive), so the
-- ledger's "COLLATE NOCASE" means the same on both.
CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE console_users (
	name          TEXT PRIMARY KEY COLLATE nocase CHECK (length(name) BETWEEN 1 AND 64),
	role          TEXT COLLATE "C" NOT NULL CHECK (role IN ('preparer', 'approver', 'viewer')),
	password_hash TEXT COLLATE "C" NOT NULL CHECK (length(password_hash) > 0),
	created_at    TEXT COLLATE "C" NOT NULL,
	created_by    TEXT COLLATE "C" NOT NULL DEFAULT ''
);
