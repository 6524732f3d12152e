-- 0007: what a run's sheet was read with, so a re-run of a sheet whose rows
-- are all settled can take them over without reading them into the ledger
-- again (see Ledger.CopySettledRun).
-- ingest_key is a digest of the sheet's bytes and of every setting that
-- changes how they become rows (worksheet, decimal mark, rows skipped as
-- invalid); empty for runs recorded before 0007, which are never taken over.
-- Adding a column with a constant default rewrites nothing: this migration
-- takes the same time on any ledger.
ALTER TABLE runs ADD COLUMN ingest_key TEXT COLLATE "C" NOT NULL DEFAULT '';

-- Runs of the same sheet are found by its digest.
CREATE INDEX runs_by_ingest_key ON runs (ingest_key, id) WHERE ingest_key <> '';

-- payrun ledger archive moves finished runs, with their rows, events and
-- requests, to an archive file (see Ledger.Archive). What stays behind is
-- small: which archive holds each moved run, so report and status find it,
-- and each moved row's id and fingerprint, so a later sheet that reuses an
-- archived id is a CONFLICT and never paid again.
CREATE TABLE archived_runs (
	run_id      BIGINT  PRIMARY KEY,
	archive     TEXT COLLATE "C"    NOT NULL CHECK (length(archive) > 0), -- absolute path
	archived_at TEXT COLLATE "C"    NOT NULL
);

CREATE TABLE archived_rows (
	client_transfer_id TEXT COLLATE "C"    PRIMARY KEY,
	fingerprint        TEXT COLLATE "C"    NOT NULL,
	state              TEXT COLLATE "C"    NOT NULL,
	run_id             BIGINT  NOT NULL -- the row's first run, now archived
);

-- A summary a reader computed of a run that can no longer change (finished,
-- every row PAID, LOADED, SCHEDULED or FAILED), kept so the console's runs
-- page does not read every row of every month again (see PutRunSummary).
-- A cache: archive drops it with the run, and anything may rebuild it.
CREATE TABLE run_summaries (
	run_id     BIGINT  PRIMARY KEY,
	data       TEXT COLLATE "C"    NOT NULL,
	updated_at TEXT COLLATE "C"    NOT NULL
);
