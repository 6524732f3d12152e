-- 0006: alerts sent to people (finance, ops, compliance, payees), one row
-- per alert and channel, so a re-run, a second webhook receiver or the next
-- inbox tick never sends the same alert again.
--
-- A send is claimed (state 'sending') in its own durable write before the
-- message leaves, and marked 'sent' or 'failed' after. A crash between the
-- two leaves 'sending': the next claim after the claim has gone stale sends
-- it once more (resent = 1) and never again, so a crash costs at most one
-- duplicate, never a lost alert without a trace.
CREATE TABLE alerts (
	alert_key          TEXT COLLATE "C" NOT NULL CHECK (length(alert_key) > 0),
	channel            TEXT COLLATE "C" NOT NULL CHECK (channel IN ('email', 'webhook')),
	kind               TEXT COLLATE "C" NOT NULL,
	client_transfer_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	recipients         TEXT COLLATE "C" NOT NULL DEFAULT '',
	state              TEXT COLLATE "C" NOT NULL CHECK (state IN ('sending', 'sent', 'failed')),
	attempts           BIGINT  NOT NULL DEFAULT 0,
	resent             BIGINT  NOT NULL DEFAULT 0,
	claimed_at         TEXT COLLATE "C" NOT NULL,
	sent_at            TEXT COLLATE "C",
	last_error         TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (alert_key, channel)
);

CREATE INDEX alerts_by_row ON alerts (client_transfer_id) WHERE client_transfer_id <> '';
