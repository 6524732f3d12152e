-- 0002: people who may sign in to the web console (payrun serve).
-- The password is a bcrypt hash; names compare without regard to case.

CREATE TABLE console_users (
	name          TEXT PRIMARY KEY COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 64),
	role          TEXT NOT NULL CHECK (role IN ('preparer', 'approver', 'viewer')),
	password_hash TEXT NOT NULL CHECK (length(password_hash) > 0),
	created_at    TEXT NOT NULL,
	created_by    TEXT NOT NULL DEFAULT ''
) STRICT;
