package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"

	"github.com/shopspring/decimal"
)

// stableStates are the states no later run, sheet or retry can move a row
// out of: a corrected sheet replaces an INVALID row, a retry takes up a
// NEEDS_ACTION one, but these stay as they are.
const stableStates = `('PAID', 'LOADED', 'SCHEDULED', 'FAILED')`

// RunSummary returns the summary of run runID that PutRunSummary kept, and
// whether there is one.
func (l *Ledger) RunSummary(ctx context.Context, runID int64) (string, bool, error) {
	var data string
	err := l.rqRow(ctx, `SELECT data FROM run_summaries WHERE run_id = ?`, runID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read summary of run %d: %w", runID, err)
	}
	return data, true, nil
}

// RunSummaries returns the summaries PutRunSummary kept of runs fromID to
// toID, by run id: one query for a page of runs rather than one per run.
func (l *Ledger) RunSummaries(ctx context.Context, fromID, toID int64) (map[int64]string, error) {
	rs, err := l.rq(ctx, `SELECT run_id, data FROM run_summaries WHERE run_id BETWEEN ? AND ? ORDER BY run_id`, fromID, toID)
	if err != nil {
		return nil, fmt.Errorf("read run summaries: %w", err)
	}
	defer rs.Close()
	out := map[int64]string{}
	for rs.Next() {
		var (
			id   int64
			data string
		)
		if err := rs.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("read run summaries: %w", err)
		}
		out[id] = data
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read run summaries: %w", err)
	}
	return out, nil
}

// PutRunSummary keeps data, a reader's summary of run runID computed from
// its rows, when nothing can change it any more: the run finished and every
// row of its sheet is PAID, LOADED, SCHEDULED or FAILED (so its state, its
// amounts and the run that settled it are fixed). It reports whether it
// kept it; a run that may still change is not kept, and is summarised from
// its rows each time.
func (l *Ledger) PutRunSummary(ctx context.Context, runID int64, data string) (bool, error) {
	kept := false
	err := l.write(ctx, false, func(tx *wtx) error {
		var stable bool // EXISTS is 0/1 on SQLite, a boolean on PostgreSQL
		err := tx.queryRow(`SELECT EXISTS (SELECT 1 FROM runs WHERE id = ? AND status = 'finished')
			AND NOT EXISTS (SELECT 1 FROM run_rows m CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
				WHERE m.run_id = ? AND r.state NOT IN `+stableStates+`)`, runID, runID).Scan(&stable)
		if err != nil || !stable {
			return err
		}
		if _, err := tx.exec(`INSERT OR REPLACE INTO run_summaries (run_id, data, updated_at) VALUES (?, ?, ?)`,
			runID, data, formatTime(l.now())); err != nil {
			return err
		}
		kept = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("keep summary of run %d: %w", runID, err)
	}
	return kept, nil
}

// RunAmount is one row of a run's sheet reduced to what the run's totals
// need (see RunAmounts).
type RunAmount struct {
	State          State
	SourceCurrency string
	Amount         decimal.Decimal
	AmountIs       string // "source" or "destination"
	// SourceAmount is what MassPay charged in the source currency, when
	// known.
	SourceAmount decimal.NullDecimal
	// SettledRunID is as in Row: the run whose work settled the row, 0 if
	// it is not settled.
	SettledRunID int64
}

// RunAmounts yields every row of run runID's sheet as it stands now,
// reduced to a RunAmount, in no particular order. Totals read a run's rows
// through it rather than Rows: six columns instead of forty (the sheet's
// input JSON among them) make summing a 10,000-row run several times
// cheaper. It reads page by page like Rows.
func (l *Ledger) RunAmounts(ctx context.Context, runID int64) iter.Seq2[RunAmount, error] {
	return func(yield func(RunAmount, error) bool) {
		after := ""
		for {
			rs, err := l.rq(ctx, `SELECT m.client_transfer_id, r.state, r.source_currency, r.amount, r.amount_is,
				r.source_amount, `+settledRunCol+`
				FROM run_rows m CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
				WHERE m.run_id = ? AND m.client_transfer_id > ? ORDER BY m.client_transfer_id LIMIT ?`,
				runID, after, pageSize)
			if err != nil {
				yield(RunAmount{}, fmt.Errorf("read amounts of run %d: %w", runID, err))
				return
			}
			page := make([]RunAmount, 0, pageSize)
			for rs.Next() {
				var (
					a     RunAmount
					state string
				)
				if err := rs.Scan(&after, &state, &a.SourceCurrency, &a.Amount, &a.AmountIs,
					&a.SourceAmount, &a.SettledRunID); err != nil {
					rs.Close()
					yield(RunAmount{}, fmt.Errorf("read amounts of run %d: %w", runID, err))
					return
				}
				a.State = State(state)
				page = append(page, a)
			}
			err = rs.Err()
			rs.Close()
			if err != nil {
				yield(RunAmount{}, fmt.Errorf("read amounts of run %d: %w", runID, err))
				return
			}
			for _, a := range page {
				if !yield(a, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
		}
	}
}
