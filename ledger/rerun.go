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
// each row's last_run_id and add it to run runID; this does the same in a
// few statements instead of one round of statements per row, which is what
// makes re-running a finished 100,000-row sheet take seconds. It returns the
// run copied from, or 0 when the sheet must be read row by row (nothing was
// written then). Run runID must have no rows yet.
func (l *Ledger) CopySettledRun(ctx context.Context, runID int64) (int64, error) {
	var from int64
	err := l.write(ctx, true, func(tx *wtx) error {
		from = 0
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
		// Anything still to do, or any row a later, different sheet holds
		// (whose line and cells are that sheet's), needs the row-by-row path.
		err = tx.queryRow(`SELECT EXISTS (SELECT 1 FROM conflicts WHERE run_id = ?)
			OR EXISTS (SELECT 1 FROM run_rows m CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
				WHERE m.run_id = ? AND (r.state NOT IN ('PAID', 'LOADED', 'SCHEDULED', 'INVALID')
					OR r.last_run_id NOT IN (SELECT id FROM runs WHERE ingest_key = ?)))`,
			cand, cand, key).Scan(&found)
		if err != nil || found {
			return err
		}
		now := formatTime(l.now())
		if _, err := tx.exec(`INSERT INTO run_rows (run_id, client_transfer_id, sheet_line)
			SELECT ?, client_transfer_id, sheet_line FROM run_rows WHERE run_id = ?`, runID, cand); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE rows SET last_run_id = ?, updated_at = ?
			WHERE client_transfer_id IN (SELECT client_transfer_id FROM run_rows WHERE run_id = ?)`, runID, now, cand); err != nil {
			return err
		}
		if _, err := tx.exec(`UPDATE runs SET row_count = ? WHERE id = ?`, n, runID); err != nil {
			return err
		}
		if err := insertEvent(tx, Event{RunID: runID, Kind: EventRun, Message: fmt.Sprintf(
			"the sheet is run %d's, every row settled there: its %d rows taken over without reading them again", cand, n)}, now); err != nil {
			return err
		}
		from = cand
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("copy settled run into run %d: %w", runID, err)
	}
	return from, nil
}
