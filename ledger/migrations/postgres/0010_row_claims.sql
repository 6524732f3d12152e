-- 0010: per-row claims, so several runners on one ledger share a run's
-- rows, each row worked by one of them at a time (the PostgreSQL form of
-- the SQLite migration with the same number). claim_owner names the runner
-- holding the row ('' when none), claim_until is when its lease lapses
-- (RFC 3339 text with a nine-digit fraction, so it compares as text), and
-- claim_gen is the fencing token: it grows by one at every claim, and a
-- claimant's transitions are compare-and-set on it. New columns with
-- constant defaults only: PostgreSQL adds them without rewriting a row.
ALTER TABLE rows ADD COLUMN claim_owner TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rows ADD COLUMN claim_until TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE rows ADD COLUMN claim_gen BIGINT NOT NULL DEFAULT 0;
