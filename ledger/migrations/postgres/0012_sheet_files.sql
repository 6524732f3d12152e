-- 0012: the bytes of every sheet a console recorded a plan for, so the
-- ledger, not one console's data folder, is where an approved sheet lives
-- (the PostgreSQL form of the SQLite migration with the same number, which
-- says why). A new table only. Text sorts bytewise (COLLATE "C"); content
-- is bytea, its length checked against size.
CREATE TABLE sheet_files (
	sha256    TEXT COLLATE "C" PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	name      TEXT COLLATE "C" NOT NULL CHECK (length(name) BETWEEN 1 AND 255 AND strpos(name, '/') = 0),
	size      BIGINT NOT NULL CHECK (size > 0),
	content   BYTEA  NOT NULL CHECK (octet_length(content) = size),
	stored_at TEXT COLLATE "C" NOT NULL CHECK (stored_at <> ''),
	stored_by TEXT COLLATE "C" NOT NULL
);
