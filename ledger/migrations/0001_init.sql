-- 0001: runs, rows, users, events, conflicts.
-- Times are UTC RFC 3339 text with nanoseconds; money is decimal text; an
-- empty string means "not known yet" for text columns, NULL for money.

CREATE TABLE runs (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	sheet_name      TEXT    NOT NULL,
	sheet_sha256    TEXT    NOT NULL,
	started_at      TEXT    NOT NULL,
	finished_at     TEXT,
	operator        TEXT    NOT NULL DEFAULT '',
	environment     TEXT    NOT NULL DEFAULT '',
	row_count       INTEGER NOT NULL DEFAULT 0,
	balances_before TEXT,   -- JSON object currency -> decimal string
	balances_after  TEXT,
	status          TEXT    NOT NULL DEFAULT 'running'
	                CHECK (status IN ('running', 'finished', 'aborted'))
) STRICT;

CREATE TABLE rows (
	client_transfer_id     TEXT    PRIMARY KEY CHECK (length(client_transfer_id) > 0),
	first_run_id           INTEGER NOT NULL REFERENCES runs (id),
	last_run_id            INTEGER NOT NULL REFERENCES runs (id),
	sheet_line             INTEGER NOT NULL,
	fingerprint            TEXT    NOT NULL,
	input                  TEXT    NOT NULL DEFAULT '[]', -- JSON [[header, value], ...] in sheet order
	method                 TEXT    NOT NULL DEFAULT '',
	internal_user_id       TEXT    NOT NULL DEFAULT '',
	amount                 TEXT    NOT NULL DEFAULT '0',
	source_currency        TEXT    NOT NULL DEFAULT '',
	destination_currency   TEXT    NOT NULL DEFAULT '',
	amount_is              TEXT    NOT NULL DEFAULT '',
	state                  TEXT    NOT NULL DEFAULT 'new' CHECK (state IN (
	                           'new', 'user_ready', 'load_sent', 'LOADED', 'SCHEDULED',
	                           'route_ready', 'initiating', 'initiated', 'committing', 'PAID',
	                           'FAILED', 'NEEDS_ACTION', 'INVALID', 'CONFLICT')),
	quote_seq              INTEGER NOT NULL DEFAULT 1 CHECK (quote_seq >= 1),
	user_token             TEXT    NOT NULL DEFAULT '',
	destination_token      TEXT    NOT NULL DEFAULT '',
	attr_set_token         TEXT    NOT NULL DEFAULT '',
	payout_token           TEXT    NOT NULL DEFAULT '',
	load_token             TEXT    NOT NULL DEFAULT '',
	wallet_token           TEXT    NOT NULL DEFAULT '',
	fee                    TEXT,
	exchange_rate          TEXT,
	source_amount          TEXT,
	destination_amount     TEXT,
	pickup_code            TEXT    NOT NULL DEFAULT '',
	payer_name             TEXT    NOT NULL DEFAULT '',
	delivery_type          TEXT    NOT NULL DEFAULT '',
	country_code           TEXT    NOT NULL DEFAULT '',
	estimated_availability TEXT    NOT NULL DEFAULT '',
	masspay_status         TEXT    NOT NULL DEFAULT '',
	status_changed_at      TEXT,
	kyc_upload_link        TEXT    NOT NULL DEFAULT '',
	action_needed          TEXT    NOT NULL DEFAULT '',
	last_error             TEXT    NOT NULL DEFAULT '',
	attempts               INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	created_at             TEXT    NOT NULL,
	updated_at             TEXT    NOT NULL
) STRICT;

-- RowsToWork and the results writer read a run's rows in sheet order.
CREATE INDEX rows_by_run ON rows (last_run_id, sheet_line, client_transfer_id);
CREATE INDEX rows_by_state ON rows (state);

-- A sheet row whose client_transfer_id is already in the ledger with another
-- fingerprint. The existing row is never touched; the sheet row lives here so
-- the results of its run can still echo it.
CREATE TABLE conflicts (
	run_id               INTEGER NOT NULL REFERENCES runs (id),
	client_transfer_id   TEXT    NOT NULL,
	sheet_line           INTEGER NOT NULL,
	fingerprint          TEXT    NOT NULL,
	existing_fingerprint TEXT    NOT NULL,
	existing_state       TEXT    NOT NULL,
	existing_run_id      INTEGER NOT NULL,
	input                TEXT    NOT NULL DEFAULT '[]',
	method               TEXT    NOT NULL DEFAULT '',
	internal_user_id     TEXT    NOT NULL DEFAULT '',
	amount               TEXT    NOT NULL DEFAULT '0',
	source_currency      TEXT    NOT NULL DEFAULT '',
	destination_currency TEXT    NOT NULL DEFAULT '',
	amount_is            TEXT    NOT NULL DEFAULT '',
	recorded_at          TEXT    NOT NULL,
	PRIMARY KEY (run_id, sheet_line, client_transfer_id)
) STRICT;

CREATE TABLE users (
	internal_user_id TEXT PRIMARY KEY CHECK (length(internal_user_id) > 0),
	user_token       TEXT NOT NULL CHECK (length(user_token) > 0),
	email            TEXT NOT NULL DEFAULT '',
	updated_at       TEXT NOT NULL
) STRICT;

CREATE TABLE events (
	id                 INTEGER PRIMARY KEY AUTOINCREMENT,
	at                 TEXT    NOT NULL,
	run_id             INTEGER REFERENCES runs (id),
	client_transfer_id TEXT,
	kind               TEXT    NOT NULL CHECK (length(kind) > 0),
	from_state         TEXT    NOT NULL DEFAULT '',
	to_state           TEXT    NOT NULL DEFAULT '',
	idempotency_key    TEXT    NOT NULL DEFAULT '',
	http_status        INTEGER NOT NULL DEFAULT 0,
	masspay_status     TEXT    NOT NULL DEFAULT '',
	message            TEXT    NOT NULL DEFAULT '',
	data               TEXT    -- JSON
) STRICT;

CREATE INDEX events_by_row ON events (client_transfer_id, id);
CREATE INDEX events_by_run ON events (run_id, id);

-- The audit trail is append-only.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only');
END;
