package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
)

// pageSize is how many records an iterator reads per query. Iterators read
// page by page, each in its own short read transaction, because a reader that
// held one snapshot for a whole run would stop WAL checkpoints and let the
// -wal file grow without bound.
const pageSize = 1000

// RowFilter selects rows for Rows.
type RowFilter struct {
	// RunID keeps the rows run RunID's sheet held, whatever later runs did
	// with the same ids; 0 keeps all. Each row is as it stands now (its
	// state is the latest knowledge of the payment), at its line in run
	// RunID's sheet.
	RunID int64
	// States keeps rows in one of these states; empty keeps all.
	States []State
}

// Row returns the row with client_transfer_id id, or ErrNotFound.
func (l *Ledger) Row(ctx context.Context, id string) (Row, error) {
	r, err := scanRow(l.rqRow(ctx, `SELECT `+rowCols+` FROM rows WHERE client_transfer_id = ?`, id))
	if err != nil {
		return Row{}, notFound(err, fmt.Sprintf("read row %q", id))
	}
	return r, nil
}

// InRun reports whether run runID's sheet held the row with
// client_transfer_id id: whether Rows with RowFilter{RunID: runID} yields it.
func (l *Ledger) InRun(ctx context.Context, runID int64, id string) (bool, error) {
	var n int
	err := l.rqRow(ctx, `SELECT count(*) FROM run_rows WHERE run_id = ? AND client_transfer_id = ?`,
		runID, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read run %d's row %q: %w", runID, id, err)
	}
	return n > 0, nil
}

// Rows yields the rows matching f in a stable order: by run, then sheet line,
// then id; with f.RunID, by that run's sheet line, then id. It streams: a
// million rows never sit in memory together. It is not a snapshot: a row
// changed during the iteration is seen as of when its page was read. Stop
// early by breaking out of the loop.
func (l *Ledger) Rows(ctx context.Context, f RowFilter) iter.Seq2[Row, error] {
	// A run's rows come through run_rows (m), which knows every run a row
	// was in; rows (r) alone knows only the latest. Pages follow the order
	// by keyset, which an index serves in either case.
	from, order := `rows r`, []string{"r.last_run_id", "r.sheet_line", "r.client_transfer_id"}
	cols := rowCols
	var (
		where []string
		args  []any
	)
	if f.RunID != 0 {
		// CROSS JOIN keeps run_rows the outer loop: the run's index gives
		// the order, where a state index on rows would need a sort.
		from, order = `run_rows m CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id`,
			[]string{"m.sheet_line", "m.client_transfer_id"}
		cols = runRowCols + `, ` + settledRunCol
		where = append(where, "m.run_id = ?")
		args = append(args, f.RunID)
	}
	if len(f.States) > 0 {
		where = append(where, "r.state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	after := "(" + strings.Join(order, ", ") + ") > (?" + strings.Repeat(", ?", len(order)-1) + ")"
	return func(yield func(Row, error) bool) {
		from, where := from, where
		if f.RunID != 0 && len(f.States) > 0 {
			// A run's rows in a few states (the rows still to work, the
			// rows needing action) are usually a handful among the run's
			// 100,000: find them by state, not by walking the run.
			few, err := l.fewInStates(ctx, f.States)
			if err != nil {
				yield(Row{}, fmt.Errorf("read rows: %w", err))
				return
			}
			if few == 0 {
				return
			}
			if few > 0 {
				// The run's id stays the first argument: it moved from
				// the WHERE clause into the join.
				from = `rows r CROSS JOIN run_rows m ON m.run_id = ? AND m.client_transfer_id = r.client_transfer_id`
				where = where[1:]
			}
		}
		var last *Row
		for {
			w, a := where, args
			if last != nil {
				w = append(w[:len(w):len(w)], after)
				if f.RunID != 0 {
					a = append(a[:len(a):len(a)], last.Line, last.ID)
				} else {
					a = append(a[:len(a):len(a)], last.LastRunID, last.Line, last.ID)
				}
			}
			q := `SELECT ` + cols + ` FROM ` + from
			if len(w) > 0 {
				q += ` WHERE ` + strings.Join(w, " AND ")
			}
			q += ` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ?`
			page, err := l.rowPage(ctx, q, f.RunID != 0, append(a[:len(a):len(a)], pageSize)...)
			if err != nil {
				yield(Row{}, fmt.Errorf("read rows: %w", err))
				return
			}
			for _, r := range page {
				if !yield(r, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
			last = &page[len(page)-1]
		}
	}
}

// fewRows is how many rows in the asked states, ledger-wide, Rows still
// finds by state rather than by walking the run: up to a few pages, each
// sorted in memory.
const fewRows = 4 * pageSize

// fewInStates counts the ledger's rows in states, up to fewRows+1, from the
// state index alone. It returns 0 for none, the count when it is at most
// fewRows, and -1 for more.
func (l *Ledger) fewInStates(ctx context.Context, states []State) (int, error) {
	args := make([]any, 0, len(states)+1)
	for _, s := range states {
		args = append(args, string(s))
	}
	var n int
	err := l.rqRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM rows WHERE state IN (?`+
		strings.Repeat(", ?", len(states)-1)+`) LIMIT ?) AS few`, append(args, fewRows+1)...).Scan(&n)
	if err != nil {
		return 0, err
	}
	if n > fewRows {
		return -1, nil
	}
	return n, nil
}

// settledRunCol selects, for a row r, the run of the event that moved it
// into a settled state (0 if none). Final states are never left, so there is
// at most one such move. A row only one run ever held was settled by that run
// (a transition's event names the row's latest run), which spares the lookup
// for a month's sheet paid in one go; otherwise the row's events are read
// newest first, where the move usually is, behind only later status news.
const settledRunCol = `CASE WHEN r.state NOT IN ('PAID', 'LOADED', 'SCHEDULED') THEN 0
	WHEN r.first_run_id = r.last_run_id THEN r.first_run_id
	ELSE coalesce((SELECT e.run_id FROM events e WHERE e.client_transfer_id = r.client_transfer_id
		AND e.to_state IN ('PAID', 'LOADED', 'SCHEDULED') AND e.from_state NOT IN ('PAID', 'LOADED', 'SCHEDULED')
		ORDER BY e.id DESC LIMIT 1), 0) END`

// withSettledRun scans a row followed by the settledRunCol column.
type withSettledRun struct {
	s   scanner
	run *int64
}

func (w withSettledRun) Scan(dest ...any) error { return w.s.Scan(append(dest, w.run)...) }

// rowPage reads one page of rows; settled says the query ends with
// settledRunCol.
func (l *Ledger) rowPage(ctx context.Context, q string, settled bool, args ...any) ([]Row, error) {
	rs, err := l.rq(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	page := make([]Row, 0, pageSize)
	for rs.Next() {
		var (
			r   Row
			err error
			run int64
		)
		if settled {
			r, err = scanRow(withSettledRun{rs, &run})
			r.SettledRunID = run
		} else {
			r, err = scanRow(rs)
		}
		if err != nil {
			return nil, err
		}
		page = append(page, r)
	}
	return page, rs.Err()
}

// workStates are the states a run still has to move a row out of.
var workStates = func() []State {
	var s []State
	for _, st := range States {
		if !st.Final() {
			s = append(s, st)
		}
	}
	return s
}()

// RowsToWork yields run runID's rows that are not in a final state, in sheet
// order (line, then id): what a resumed run still has to do. Rows whose
// state is Unknown must be re-sent with their recorded Idempotency-Key.
func (l *Ledger) RowsToWork(ctx context.Context, runID int64) iter.Seq2[Row, error] {
	return l.Rows(ctx, RowFilter{RunID: runID, States: workStates})
}

// Counts returns how many of run runID's rows (0: all rows) are in each
// state: the rows of its sheet, each in its current state, as Rows with
// RowFilter.RunID yields them. Conflicts recorded for the run are counted
// under StateConflict, as they are sheet rows of that run too.
func (l *Ledger) Counts(ctx context.Context, runID int64) (map[State]int, error) {
	q, args := `SELECT state, count(*) FROM rows GROUP BY state
		UNION ALL SELECT 'CONFLICT', count(*) FROM conflicts`, []any(nil)
	if runID != 0 {
		q, args = `SELECT r.state, count(*) FROM run_rows m
			CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
			WHERE m.run_id = ? GROUP BY r.state
			UNION ALL SELECT 'CONFLICT', count(*) FROM conflicts WHERE run_id = ?`, []any{runID, runID}
	}
	counts := make(map[State]int)
	rs, err := l.rq(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var (
			s string
			n int
		)
		if err := rs.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count rows: %w", err)
		}
		if n > 0 {
			counts[State(s)] += n
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	return counts, nil
}

// SettledRun returns the run whose work moved row id into PAID, LOADED or
// SCHEDULED, or 0 when the row is not settled (or unknown).
func (l *Ledger) SettledRun(ctx context.Context, id string) (int64, error) {
	var run int64
	err := l.rqRow(ctx, `SELECT `+settledRunCol+` FROM rows r WHERE r.client_transfer_id = ?`, id).Scan(&run)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read settling run of %q: %w", id, err)
	}
	return run, nil
}
