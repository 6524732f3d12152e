-- 0010: per-row claims, so several runners on one (PostgreSQL) ledger share
-- a run's rows, each row worked by one of them at a time. claim_owner names
-- the runner holding the row ('' when none), claim_until is when its lease
-- lapses (RFC 3339 text with a nine-digit fraction, as every ledger time),
-- and claim_gen is the fencing token: it grows by one at every claim, and a
-- claimant's transitions are compare-and-set on it. New columns with
-- constant defaults only: constant time on any ledger. SQLite keeps its
-- one-process lock and never claims; the columns are here so that both
-- dialects have one schema.
ALTER TABLE rows ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE rows ADD COLUMN claim_until TEXT NOT NULL DEFAULT '';
ALTER TABLE rows ADD COLUMN claim_gen INTEGER NOT NULL DEFAULT 0;
