-- 0004: run_rows, which runs' sheets held which rows.
-- rows keeps one record per client_transfer_id and remembers only its first
-- and latest run, so once a later run re-ingests an id (month two, a re-run
-- after a crash, a corrected sheet) the earlier run lost sight of it: its
-- report, status and counts dropped the row. run_rows records every run a
-- row was ingested into, with its line in that run's sheet, so "the rows of
-- run N" stays the rows of run N's sheet. The row's state stays in rows: a
-- run's rows show the latest knowledge of each payment.
-- Conflicting sheet rows are not here: conflicts already keeps them per run.

CREATE TABLE run_rows (
	run_id             BIGINT  NOT NULL REFERENCES runs (id),
	client_transfer_id TEXT COLLATE "C"    NOT NULL REFERENCES rows (client_transfer_id),
	sheet_line         BIGINT  NOT NULL CHECK (sheet_line >= 0),
	PRIMARY KEY (run_id, client_transfer_id)
);

-- A run's rows are read in its sheet order (results, status, RowsToWork).
CREATE INDEX run_rows_by_line ON run_rows (run_id, sheet_line, client_transfer_id);

-- Backfill from what older ledgers know. The latest run is exact, line
-- included.
INSERT INTO run_rows (run_id, client_transfer_id, sheet_line)
	SELECT last_run_id, client_transfer_id, sheet_line FROM rows;

-- The first run held the row too; its own line was overwritten by later
-- sheets, so the latest line stands in for it.
INSERT INTO run_rows (run_id, client_transfer_id, sheet_line)
	SELECT first_run_id, client_transfer_id, sheet_line FROM rows
	WHERE first_run_id <> last_run_id
	ON CONFLICT DO NOTHING;

-- Runs in between left no mark on rows, but any run that worked a row wrote
-- events under its id: before this migration an event's run was always the
-- row's last_run_id at the time (or the run whose rows were listed), and
-- last_run_id only ever named a run whose sheet held the row. Conflict
-- events are the exception: they name the run of the conflicting sheet row,
-- which conflicts records. The line is again the latest one.
INSERT INTO run_rows (run_id, client_transfer_id, sheet_line)
	SELECT DISTINCT e.run_id, e.client_transfer_id, r.sheet_line
	FROM events e JOIN rows r ON r.client_transfer_id = e.client_transfer_id
	WHERE e.run_id IS NOT NULL AND e.kind <> 'conflict'
	ON CONFLICT DO NOTHING;
