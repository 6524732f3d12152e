package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CopySettledRun makes run runID's rows those of the latest earlier run of
// the same sheet (same RunInfo.IngestKey) when reading the sheet again would
// change nothing: that run finished (so its sheet was read in full), it
// recorded no conflicts, every row it held is settled or INVALID, and no
// later sheet has taken any of them over. Then UpsertRows would only move
// each row's last_run_id and add it to run runID; this adds the rows to run
// runID (run_rows) in a few statements instead of one round of statements
// per row, which is what makes re-running a finished 100,000-row sheet take
// seconds. It leaves rows itself as it is: last_run_id stays the run that
// read the sheet (and paid the rows), because moving it rewrote every row
// (85 MB of pages for 100,000 rows) for a run that changes no payment. It
// returns the run copied from, or 0 when the sheet must be read row by row
// (nothing was written then). Run runID must have no rows yet.
func (l *Ledger) CopySettledRun(ctx context.Context, runID int64) (int64, error) {
	from, _, err := l.CopySettledRunCounted(ctx, runID)
	return from, err
}

// CopySettledRunCounted is CopySettledRun that also returns what Counts of
// run runID would after a copy: the check that every row is settled reads
// each row's state anyway, so a re-run of a settled sheet need not walk
// its 100,000 rows a second time to count them. counts is nil when nothing
// was copied.
func (l *Ledger) CopySettledRunCounted(ctx context.Context, runID int64) (int64, map[State]int, error) {
	var (
		from   int64
		counts map[State]int
	)
	err := l.write(ctx, true, func(tx *wtx) error {
		from, counts = 0, nil
		var (
			key   string
			count int
		)
		if err := tx.queryRow(`SELECT ingest_key, row_count FROM runs WHERE id = ?`, runID).Scan(&key, &count); err != nil {
			return notFound(err, fmt.Sprintf("run %d", runID))
		}
		if key == "" || count != 0 {
			return nil
		}
		var (
			cand  int64
			n     int
			found bool
		)
		err := tx.queryRow(`SELECT id, row_count FROM runs WHERE ingest_key = ? AND id < ? AND status = 'finished'
			ORDER BY id DESC LIMIT 1`, key, runID).Scan(&cand, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM conflicts WHERE run_id = ?)`, cand).Scan(&found); err != nil || found {
			return err
		}
		// Anything still to do, or any row a later, different sheet holds
		// (whose line and cells are that sheet's), needs the row-by-row
		// path. One pass over the run's rows, by state.
		rs, err := tx.query(`SELECT r.state, count(*),
				sum(CASE WHEN r.last_run_id IN (SELECT id FROM runs WHERE ingest_key = ?) THEN 0 ELSE 1 END)
			FROM run_rows m CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
			WHERE m.run_id = ? GROUP BY r.state`, key, cand)
		if err != nil {
			return err
		}
		got, elsewhere := map[State]int{}, 0
		for rs.Next() {
			var (
				state string
				k, e  int
			)
			if err := rs.Scan(&state, &k, &e); err != nil {
				rs.Close()
				return err
			}
			got[State(state)] += k
			elsewhere += e
		}
		if err := errors.Join(rs.Err(), rs.Close()); err != nil {
			return err
		}
		if elsewhere != 0 {
			return nil
		}
		for st := range got {
			switch st {
			case StatePaid, StateLoaded, StateScheduled, StateInvalid:
			default:
				return nil
			}
		}
		now := formatTime(l.now())
		if _, err := tx.exec(`INSERT INTO run_rows (run_id, client_transfer_id, sheet_line)
			SELECT ?, client_transfer_id, sheet_line FROM run_rows WHERE run_id = ?`, runID, cand); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE runs SET row_count = ? WHERE id = ?`, n, runID); err != nil {
			return err
		}
		if err := insertEvent(tx, Event{RunID: runID, Kind: EventRun, Message: fmt.Sprintf(
			"the sheet is run %d's, every row settled there: its %d rows taken over without reading them again", cand, n)}, now); err != nil {
			return err
		}
		from, counts = cand, got
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("copy settled run into run %d: %w", runID, err)
	}
	return from, counts, nil
}
