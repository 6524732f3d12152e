-- 0005: the exact request behind every money-moving key, MassPay's later
-- status in columns of its own, the quote's own start time, and the mark of
-- a row stopped for a person by an internal error.

-- requests keeps the bytes of every load, initiate and commit as they were
-- (or are about to be) sent, written in the same transaction as the intent
-- (load_sent, initiating, committing). A resumed or retried call re-sends
-- these bytes under their key, never a body rebuilt from the sheet: a later
-- sheet that only corrects notes must not turn a replay into a different
-- request (422 IDEMPOTENCY_KEY_REUSED). A key's first record is final.
CREATE TABLE requests (
	client_transfer_id TEXT NOT NULL REFERENCES rows (client_transfer_id),
	idempotency_key    TEXT NOT NULL CHECK (length(idempotency_key) > 0),
	kind               TEXT NOT NULL CHECK (kind IN ('load', 'initiate', 'commit')),
	body               BLOB,  -- NULL: the call has no body (commit)
	body_sha256        TEXT NOT NULL DEFAULT '',
	recorded_at        TEXT NOT NULL,
	PRIMARY KEY (client_transfer_id, idempotency_key)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER requests_no_update BEFORE UPDATE ON requests
BEGIN
	SELECT RAISE(ABORT, 'a recorded request is final');
END;

CREATE TRIGGER requests_no_delete BEFORE DELETE ON requests
BEGIN
	SELECT RAISE(ABORT, 'a recorded request is final');
END;

-- MassPay's later status (webhook, reconcile) and the time MassPay says it
-- took effect. Only a compare-and-set on later_status_at writes them; the
-- runner never does (it keeps the status a call answered in masspay_status).
ALTER TABLE rows ADD COLUMN later_status    TEXT NOT NULL DEFAULT '';
ALTER TABLE rows ADD COLUMN later_status_at TEXT;

-- Until now webhook and reconcile news went to masspay_status with
-- status_changed_at; whatever carries a time came from them.
UPDATE rows SET later_status = masspay_status, later_status_at = status_changed_at
	WHERE status_changed_at IS NOT NULL AND masspay_status <> '';

-- When the current quote's initiate intent was recorded: the earliest the
-- quote can have started, so its two minutes are never overestimated.
-- updated_at stood in for it and moved with every write to the row.
ALTER TABLE rows ADD COLUMN quote_started_at TEXT;
UPDATE rows SET quote_started_at = updated_at WHERE state = 'initiated';

-- Why a row was stopped for a person although its money may have moved
-- (MassPay refused a key as reused). Such a NEEDS_ACTION row is neither
-- retried nor replaced by a corrected sheet row on its own.
ALTER TABLE rows ADD COLUMN internal_error TEXT NOT NULL DEFAULT '';
