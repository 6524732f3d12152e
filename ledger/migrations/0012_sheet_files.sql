-- 0012: the bytes of every sheet a console recorded a plan for, so the
-- ledger, not one console's data folder, is where an approved sheet lives:
-- a plan uploaded on one console behind a load balancer is run from
-- another, and a dead host takes no approved sheet with it. Consoles keep
-- a copy in their data folder as a cache. A new table only: constant time
-- on any ledger. Plain SQL apart from the checks, mirrored in
-- migrations/postgres/0012_sheet_files.sql.
--
-- sha256 is the lower-case hex SHA-256 of content: what plans, approvals
-- and runs name a sheet by. name is the file name first stored for those
-- bytes (what results show a person). size is len(content), kept so a
-- listing need not read the bytes. stored_at is RFC 3339 text with a
-- nine-digit fraction, as everywhere in the ledger; stored_by the console
-- user whose upload it was. The same bytes are stored once.
CREATE TABLE sheet_files (
	sha256    TEXT    PRIMARY KEY CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
	name      TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 255 AND name NOT LIKE '%/%'),
	size      INTEGER NOT NULL CHECK (size > 0),
	content   BLOB    NOT NULL CHECK (typeof(content) = 'blob' AND length(content) = size),
	stored_at TEXT    NOT NULL CHECK (stored_at <> ''),
	stored_by TEXT    NOT NULL
);
