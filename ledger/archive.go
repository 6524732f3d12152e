package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger/faultpoint"
)

// ArchiveResult is what Archive moved.
type ArchiveResult struct {
	Path   string  // the archive file, absolute
	Runs   []int64 // the runs moved, oldest first
	Rows   int     // rows moved with them
	Events int     // events moved with them
}

// archivableStates are the states a row may be archived in: final, and not
// waiting for a person (a NEEDS_ACTION row may still be retried, which
// needs it in the working ledger).
const archivableStates = `('PAID', 'LOADED', 'SCHEDULED', 'FAILED', 'INVALID', 'CONFLICT')`

// Archive moves every finished run begun before before, whose rows are all
// final (and none needing a person) and held by no run that stays, to the
// archive file at path: the runs, their rows, run_rows, conflicts, events
// and recorded requests. The archive is a ledger file of the same schema
// (created 0600 if missing), so report and status read an archived run from
// it as from the working ledger; archived_runs tells them where it went, and
// archived_rows keeps each moved id and fingerprint so a sheet reusing one
// is a conflict, never a second payment.
//
// It is safe to interrupt at any point: the copy is one transaction of the
// archive file, then the counts and money totals of both sides are compared,
// then the working ledger drops what was copied in one transaction of its
// own. A run interrupted between the two is in both files; the next Archive
// copies it again (idempotently) and finishes the move. The caller holds the
// ledger's Lock, so no run changes the rows meanwhile.
//
// On a PostgreSQL ledger it returns ErrNotOnPostgres: the archive is a
// SQLite file attached to the ledger's own connection, which a server
// cannot do; a database that size is partitioned or pruned with its own
// tools.
func (l *Ledger) Archive(ctx context.Context, path string, before time.Time) (ArchiveResult, error) {
	if l.pg {
		return ArchiveResult{}, fmt.Errorf("archive ledger: %w", ErrNotOnPostgres)
	}
	if l.readOnly {
		return ArchiveResult{}, ErrReadOnly
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ArchiveResult{}, fmt.Errorf("archive ledger: %w", err)
	}
	if abs == l.path {
		return ArchiveResult{}, errors.New("archive ledger: the archive must be another file than the ledger")
	}
	res := ArchiveResult{Path: abs}
	// The archive gets the schema, WAL and mode 0600 the way any ledger does.
	arc, err := Open(ctx, abs, Options{Clock: l.clock})
	if err != nil {
		return res, fmt.Errorf("archive ledger: %w", err)
	}
	if err := arc.Close(); err != nil {
		return res, fmt.Errorf("archive ledger: %w", err)
	}
	// Runs to move: finished before the date, judged in Go on parsed times.
	runs, err := l.Runs(ctx)
	if err != nil {
		return res, fmt.Errorf("archive ledger: %w", err)
	}
	var cands []int64
	for _, r := range runs {
		if r.Status == RunFinished && r.StartedAt.Before(before) {
			cands = append(cands, r.ID)
		}
	}
	if len(cands) == 0 {
		return res, nil
	}

	// One connection of its own: ATTACH and the temporary set belong to it.
	db, err := sql.Open("sqlite", dsn(l.path, 10*time.Second, false))
	if err != nil {
		return res, fmt.Errorf("archive ledger: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("archive ledger: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS arc`, abs); err != nil {
		return res, fmt.Errorf("archive ledger: attach %s: %w", abs, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DETACH DATABASE arc`)
	if err := selectArchiveSet(ctx, conn, cands); err != nil {
		return res, fmt.Errorf("archive ledger: choose runs: %w", err)
	}
	rs, err := conn.QueryContext(ctx, `SELECT id FROM temp.arc_runs ORDER BY id`)
	if err != nil {
		return res, fmt.Errorf("archive ledger: %w", err)
	}
	for rs.Next() {
		var id int64
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return res, fmt.Errorf("archive ledger: %w", err)
		}
		res.Runs = append(res.Runs, id)
	}
	rs.Close()
	if len(res.Runs) == 0 {
		return res, nil
	}

	// 1. Copy, in one transaction of the archive file.
	if err := inTx(ctx, conn, func(tx *sql.Tx) error {
		for _, q := range archiveCopy {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", strings.Fields(q)[2], err)
			}
		}
		return nil
	}); err != nil {
		return res, fmt.Errorf("archive ledger: copy: %w", err)
	}
	// 2. Verify: the same counts and the same money on both sides.
	mainSide, err := archiveTally(ctx, conn, "main")
	if err != nil {
		return res, fmt.Errorf("archive ledger: verify: %w", err)
	}
	arcSide, err := archiveTally(ctx, conn, "arc")
	if err != nil {
		return res, fmt.Errorf("archive ledger: verify: %w", err)
	}
	if mainSide != arcSide {
		return res, fmt.Errorf("archive ledger: verify: the archive holds %s, the ledger %s; nothing was removed from the ledger", arcSide, mainSide)
	}
	// A crash here leaves the runs in both files, which is safe: readers
	// find them in the ledger, and the next Archive finishes the move.
	faultpoint.Hit("ledger.archive.copied")
	// 3. Drop from the working ledger, in one transaction. The audit
	// trail's guards are lifted only inside it, for exactly these rows.
	now := formatTime(l.now())
	if err := inTx(ctx, conn, func(tx *sql.Tx) error {
		guards, err := triggers(ctx, tx, "events_no_delete", "requests_no_delete")
		if err != nil {
			return err
		}
		for name := range guards {
			if _, err := tx.ExecContext(ctx, `DROP TRIGGER main.`+name); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO main.archived_runs (run_id, archive, archived_at)
			SELECT id, ?, ? FROM temp.arc_runs`, abs, now); err != nil {
			return err
		}
		for _, q := range archiveDrop {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("%s: %w", q[:40], err)
			}
		}
		for _, sqlText := range guards {
			if _, err := tx.ExecContext(ctx, sqlText); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return res, fmt.Errorf("archive ledger: remove from the ledger: %w", err)
	}
	res.Rows, res.Events = mainSide.rows, mainSide.events
	return res, nil
}

// selectArchiveSet fills temp.arc_runs with the candidates that can move:
// repeatedly drops a run holding a row that is not archivable or that a run
// staying also holds, until none is left to drop. The rows to move
// (temp.arc_rows) are then exactly the rows the set's runs hold. The rows of
// the runs that stay are collected once per round (SQLite builds a transient
// index for the IN list), not looked up per row: run_rows has no index by
// id alone.
func selectArchiveSet(ctx context.Context, conn *sql.Conn, cands []int64) error {
	for _, q := range []string{
		`DROP TABLE IF EXISTS temp.arc_runs`, `DROP TABLE IF EXISTS temp.arc_rows`,
		`CREATE TEMP TABLE arc_runs (id INTEGER PRIMARY KEY)`,
		`CREATE TEMP TABLE arc_rows (client_transfer_id TEXT PRIMARY KEY) WITHOUT ROWID`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	for _, id := range cands {
		if _, err := conn.ExecContext(ctx, `INSERT INTO temp.arc_runs (id) VALUES (?)`, id); err != nil {
			return err
		}
	}
	for {
		res, err := conn.ExecContext(ctx, `DELETE FROM temp.arc_runs WHERE id IN (
			SELECT m.run_id FROM main.run_rows m JOIN main.rows r ON r.client_transfer_id = m.client_transfer_id
			WHERE m.run_id IN (SELECT id FROM temp.arc_runs)
			AND (r.state NOT IN `+archivableStates+`
				OR r.first_run_id NOT IN (SELECT id FROM temp.arc_runs)
				OR r.last_run_id NOT IN (SELECT id FROM temp.arc_runs)
				OR m.client_transfer_id IN (SELECT client_transfer_id FROM main.run_rows
					WHERE run_id NOT IN (SELECT id FROM temp.arc_runs))))`)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			break
		}
	}
	_, err := conn.ExecContext(ctx, `INSERT OR IGNORE INTO temp.arc_rows
		SELECT client_transfer_id FROM main.run_rows WHERE run_id IN (SELECT id FROM temp.arc_runs)`)
	return err
}

// archiveEvents selects the events that move: those of the moving runs, and
// run-less ones about moving rows. An event of a run that stays stays, even
// about a moved row (a later sheet's conflict with it).
const archiveEvents = `(run_id IN (SELECT id FROM temp.arc_runs)
	OR (run_id IS NULL AND client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)))`

// archiveCopy copies the set into the archive, parents first. Both files
// have the same schema, so columns line up. Copying again after an
// interrupted archive changes nothing but MassPay's later status of a row.
var archiveCopy = []string{
	`INSERT OR IGNORE INTO arc.runs SELECT * FROM main.runs WHERE id IN (SELECT id FROM temp.arc_runs)`,
	`INSERT INTO arc.rows SELECT * FROM main.rows WHERE client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)
		ON CONFLICT (client_transfer_id) DO UPDATE SET later_status = excluded.later_status,
		later_status_at = excluded.later_status_at, updated_at = excluded.updated_at`,
	`INSERT OR IGNORE INTO arc.run_rows SELECT * FROM main.run_rows WHERE run_id IN (SELECT id FROM temp.arc_runs)`,
	`INSERT OR IGNORE INTO arc.conflicts SELECT * FROM main.conflicts WHERE run_id IN (SELECT id FROM temp.arc_runs)`,
	`INSERT OR IGNORE INTO arc.requests SELECT * FROM main.requests WHERE client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)`,
	`INSERT OR IGNORE INTO arc.events SELECT * FROM main.events WHERE ` + archiveEvents,
}

// archiveDrop removes the set from the working ledger, children first,
// leaving each row's id and fingerprint behind.
var archiveDrop = []string{
	`DELETE FROM main.requests WHERE client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)`,
	`DELETE FROM main.events WHERE ` + archiveEvents,
	`DELETE FROM main.conflicts WHERE run_id IN (SELECT id FROM temp.arc_runs)`,
	`DELETE FROM main.run_rows WHERE run_id IN (SELECT id FROM temp.arc_runs)`,
	`INSERT OR REPLACE INTO main.archived_rows (client_transfer_id, fingerprint, state, run_id)
		SELECT client_transfer_id, fingerprint, state, first_run_id FROM main.rows
		WHERE client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)`,
	`DELETE FROM main.rows WHERE client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)`,
	`DELETE FROM main.run_summaries WHERE run_id IN (SELECT id FROM temp.arc_runs)`,
	`DELETE FROM main.runs WHERE id IN (SELECT id FROM temp.arc_runs)`,
}

// tally is what one side holds of the set: counts per table and the money.
type tally struct {
	runs, rows, runRows, conflicts, requests, events int
	money                                            string // currency amount fee; ... in a fixed order
}

func (t tally) String() string {
	return fmt.Sprintf("%d runs, %d rows, %d run rows, %d conflicts, %d requests, %d events, money [%s]",
		t.runs, t.rows, t.runRows, t.conflicts, t.requests, t.events, t.money)
}

// archiveTally counts the set in schema db ("main" or "arc") and sums its
// rows' amounts and fees per currency as decimals.
func archiveTally(ctx context.Context, conn *sql.Conn, db string) (tally, error) {
	var t tally
	for _, c := range []struct {
		n *int
		q string
	}{
		{&t.runs, `SELECT count(*) FROM ` + db + `.runs WHERE id IN (SELECT id FROM temp.arc_runs)`},
		{&t.rows, `SELECT count(*) FROM ` + db + `.rows WHERE client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)`},
		{&t.runRows, `SELECT count(*) FROM ` + db + `.run_rows WHERE run_id IN (SELECT id FROM temp.arc_runs)`},
		{&t.conflicts, `SELECT count(*) FROM ` + db + `.conflicts WHERE run_id IN (SELECT id FROM temp.arc_runs)`},
		{&t.requests, `SELECT count(*) FROM ` + db + `.requests WHERE client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)`},
		{&t.events, `SELECT count(*) FROM ` + db + `.events WHERE ` + archiveEvents},
	} {
		if err := conn.QueryRowContext(ctx, c.q).Scan(c.n); err != nil {
			return t, err
		}
	}
	rs, err := conn.QueryContext(ctx, `SELECT source_currency, amount, coalesce(fee, '0') FROM `+db+`.rows
		WHERE client_transfer_id IN (SELECT client_transfer_id FROM temp.arc_rows)`)
	if err != nil {
		return t, err
	}
	defer rs.Close()
	type sums struct{ amount, fee decimal.Decimal }
	by := map[string]*sums{}
	var order []string
	for rs.Next() {
		var (
			cur         string
			amount, fee decimal.Decimal
		)
		if err := rs.Scan(&cur, &amount, &fee); err != nil {
			return t, err
		}
		s := by[cur]
		if s == nil {
			s = &sums{}
			by[cur] = s
			order = append(order, cur)
		}
		s.amount, s.fee = s.amount.Add(amount), s.fee.Add(fee)
	}
	if err := rs.Err(); err != nil {
		return t, err
	}
	sort.Strings(order)
	var b strings.Builder
	for _, cur := range order {
		fmt.Fprintf(&b, "%s %s %s; ", cur, by[cur].amount, by[cur].fee)
	}
	t.money = b.String()
	return t, nil
}

// triggers returns the CREATE statements of the named triggers of main.
func triggers(ctx context.Context, tx *sql.Tx, names ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, n := range names {
		var s string
		err := tx.QueryRowContext(ctx, `SELECT sql FROM main.sqlite_master WHERE type = 'trigger' AND name = ?`, n).Scan(&s)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[n] = s
	}
	return out, nil
}

// inTx runs fn in one transaction of conn (BEGIN IMMEDIATE: the DSN sets
// _txlock).
func inTx(ctx context.Context, conn *sql.Conn, fn func(*sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ArchiveOf returns the archive file that holds run runID, or "" when the
// run was never archived.
func (l *Ledger) ArchiveOf(ctx context.Context, runID int64) (string, error) {
	var p string
	err := l.rqRow(ctx, `SELECT archive FROM archived_runs WHERE run_id = ?`, runID).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read archive of run %d: %w", runID, err)
	}
	return p, nil
}
