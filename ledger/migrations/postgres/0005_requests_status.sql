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
	client_transfer_id TEXT COLLATE "C" NOT NULL REFERENCES rows (client_transfer_id),
	idempotency_key    TEXT COLLATE "C" NOT NULL CHECK (length(idempotency_key) > 0),
	kind               TEXT COLLATE "C" NOT NULL CHECK (kind IN ('load', 'initiate', 'commit')),
	body               BYTEA,  -- NULL: the call has no body (commit)
	body_sha256        TEXT COLLATE "C" NOT NULL DEFAULT '',
	recorded_at        TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (client_transfer_id, idempotency_key)
);

CREATE FUNCTION requests_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'a recorded request is final';
END;
$$;
CREATE TRIGGER requests_no_update BEFORE UPDATE ON requests
	FOR EACH ROW EXECUTE FUNCTION requests_no_update();

CREATE FUNCTION requests_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'a recorded request is final';
END;
$$;
CREATE TRIGGER requests_no_delete BEFORE DELETE ON requests
	FOR EACH ROW EXECUTE FUNCTION requests_no_delete();

-- MassPay's later status (webhook, reconcile) and the time MassPay says it
-- took effect. Only a compare-and-set on later_status_at writes them; the
-- runner never does (it keeps the status a call answered in masspay_status).
ALTER TABLE rows ADD COLUMN later_status    TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rows ADD COLUMN later_status_at TEXT COLLATE "C";

-- Until now webhook and reconcile news went to masspay_status with
-- status_changed_at; whatever carries a time came from them.
UPDATE rows SET later_status = masspay_status, later_status_at = status_changed_at
	WHERE status_changed_at IS NOT NULL AND masspay_status <> '';

-- When the current quote's initiate intent was recorded: the earliest the
-- quote can have started, so its two minutes are never overestimated.
-- updated_at stood in for it and moved with every write to the row.
ALTER TABLE rows ADD COLUMN quote_started_at TEXT COLLATE "C";
UPDATE rows SET quote_started_at = updated_at WHERE state = 'initiated';

-- Why a row was stopped for a person although its money may have moved
-- (MassPay refused a key as reused). Such a NEEDS_ACTION row is neither
-- retried nor replaced by a corrected sheet row on its own.
ALTER TABLE rows ADD COLUMN internal_error TEXT COLLATE "C" NOT NULL DEFAULT '';
