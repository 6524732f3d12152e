-- 0003: plans, the maker-checker record of a sheet someone prepared and
-- someone else approved (or rejected) before it may be paid.
-- A plan names the sheet by the SHA-256 of its bytes, so any edit after the
-- approval makes a different sheet that needs its own plan.
-- Totals is a JSON object currency -> decimal string (money as text).

CREATE TABLE plans (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	sheet_name   TEXT    NOT NULL,
	sheet_sha256 TEXT    NOT NULL CHECK (length(sheet_sha256) = 64),
	row_count    INTEGER NOT NULL DEFAULT 0 CHECK (row_count >= 0),
	totals       TEXT    NOT NULL DEFAULT '{}',
	environment  TEXT    NOT NULL DEFAULT '',
	prepared_by  TEXT    NOT NULL CHECK (length(prepared_by) > 0),
	prepared_at  TEXT    NOT NULL,
	status       TEXT    NOT NULL DEFAULT 'pending'
	             CHECK (status IN ('pending', 'approved', 'rejected')),
	decided_by   TEXT    NOT NULL DEFAULT '',
	decided_at   TEXT,
	reason       TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX plans_by_sha256 ON plans (sheet_sha256, id);

-- A decision is final: an approved or rejected plan never changes again (a
-- changed mind is a new plan), and no plan is ever deleted.
CREATE TRIGGER plans_decided_final BEFORE UPDATE ON plans
WHEN OLD.status <> 'pending'
BEGIN
	SELECT RAISE(ABORT, 'a decided plan is final');
END;

CREATE TRIGGER plans_no_delete BEFORE DELETE ON plans
BEGIN
	SELECT RAISE(ABORT, 'plans are never deleted');
END;
