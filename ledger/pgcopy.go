package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"
)

// ErrTargetNotEmpty means CopyToPostgres was given a PostgreSQL ledger that
// already holds data: a copy only ever fills an empty one, so it can never
// mix two ledgers' runs (and their client_transfer_ids) into one.
var ErrTargetNotEmpty = errors.New("target ledger is not empty")

// ErrSchemaMismatch means the source and target ledgers do not have the
// same tables and columns: a table or column the copy does not know where
// to put is an error, never skipped.
var ErrSchemaMismatch = errors.New("source and target tables differ")

// CopyReport is what CopyToPostgres copied and checked.
type CopyReport struct {
	// Tables holds every table copied, in copy order, with its row count
	// (the same in source and target, or the copy was rolled back).
	Tables []TableCount
	// Totals holds, per run and source currency, the sum of the amounts of
	// the run's rows (as run_rows lists them), the same in source and
	// target.
	Totals []RunCurrencyTotal
}

// TableCount is one table's row count.
type TableCount struct {
	Table string
	Rows  int64
}

// RunCurrencyTotal is the sum of a run's row amounts in one currency,
// decimal as the ledger keeps it.
type RunCurrencyTotal struct {
	RunID    int64
	Currency string
	Total    decimal.Decimal
	Rows     int64
}

// copyBatchParams bounds the parameters of one multi-row INSERT
// (PostgreSQL allows 65535).
const copyBatchParams = 30000

// CopyToPostgres copies every table of this SQLite ledger into dst, an
// empty PostgreSQL ledger at the same schema version, in one transaction,
// keeping every id. The tables are found from the SQLite schema itself, so
// a table a later migration adds is copied without a change here; a table
// (or column) the target lacks, or the source lacks, is ErrSchemaMismatch.
// Tables are copied parents first (by their foreign keys). Identity
// sequences are then set past the highest id either ledger ever gave out
// (SQLite's AUTOINCREMENT counter included: an archived run's id is never
// given out again). Before committing, it checks that every table has the
// same row count on both sides and that every run's amount totals per
// currency match, and rolls back otherwise. The source is read in one read
// transaction (a snapshot); callers hold the source's Lock so no run is in
// the middle of a write. Amounts are copied as the decimal text they are.
//
// Append-only triggers (events, requests, decided plans) fire on UPDATE and
// DELETE only, so the insert-only copy passes them; they stay in force.
func (l *Ledger) CopyToPostgres(ctx context.Context, dst *Ledger) (*CopyReport, error) {
	if l.pg {
		return nil, errors.New("copy ledger: the source must be a SQLite ledger file")
	}
	if !dst.pg {
		return nil, errors.New("copy ledger: the target must be a PostgreSQL ledger")
	}
	src, err := l.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("copy ledger: read %s: %w", l.path, err)
	}
	defer src.Rollback()
	tables, err := sqliteTables(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("copy ledger: read %s: %w", l.path, err)
	}
	seqs, err := sqliteSequences(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("copy ledger: read %s: %w", l.path, err)
	}
	srcCounts := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&n); err != nil {
			return nil, fmt.Errorf("copy ledger: count %s: %w", t.name, err)
		}
		srcCounts[t.name] = n
	}
	srcTotals, err := runTotals(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("copy ledger: read %s: %w", l.path, err)
	}

	rep := &CopyReport{}
	err = dst.write(ctx, true, func(tx *wtx) error {
		// One long transaction, with the file read between statements,
		// while nothing else writes (the move needs the writers
		// stopped): the writer's bound on a frozen transaction
		// (openPostgres) must not abort it.
		if _, err := tx.exec(`SET LOCAL idle_in_transaction_session_timeout = 0`); err != nil {
			return fmt.Errorf("copy ledger: %w", err)
		}
		if err := checkTargetTables(tx, tables); err != nil {
			return err
		}
		for _, t := range tables {
			n, err := copyTable(ctx, src, tx, t)
			if err != nil {
				return err
			}
			rep.Tables = append(rep.Tables, TableCount{Table: t.name, Rows: n})
		}
		if err := resetIdentities(tx, seqs); err != nil {
			return err
		}
		// The checks read the target inside the transaction that wrote
		// it: a mismatch rolls the whole copy back.
		for _, t := range tables {
			var n int64
			if err := tx.tx.QueryRowContext(ctx, `SELECT count(*) FROM "`+t.name+`"`).Scan(&n); err != nil {
				return fmt.Errorf("copy ledger: count %s in target: %w", t.name, err)
			}
			if n != srcCounts[t.name] {
				return fmt.Errorf("copy ledger: table %s has %d rows in the target, %d in the source", t.name, n, srcCounts[t.name])
			}
		}
		dstTotals, err := runTotals(ctx, tx.tx)
		if err != nil {
			return fmt.Errorf("copy ledger: read target: %w", err)
		}
		if err := sameTotals(srcTotals, dstTotals); err != nil {
			return err
		}
		rep.Totals = dstTotals
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// runTotals sums, per run and source currency, the amounts of the rows each
// run's sheet held, in decimal.
func runTotals(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]RunCurrencyTotal, error) {
	rows, err := q.QueryContext(ctx, `SELECT rr.run_id, r.source_currency, r.amount
		FROM run_rows rr JOIN rows r ON r.client_transfer_id = rr.client_transfer_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type key struct {
		run int64
		cur string
	}
	sums := map[key]*RunCurrencyTotal{}
	for rows.Next() {
		var k key
		var amount string
		if err := rows.Scan(&k.run, &k.cur, &amount); err != nil {
			return nil, err
		}
		d, err := decimal.NewFromString(amount)
		if err != nil {
			return nil, fmt.Errorf("read amount %q of run %d: %w", amount, k.run, err)
		}
		s := sums[k]
		if s == nil {
			s = &RunCurrencyTotal{RunID: k.run, Currency: k.cur}
			sums[k] = s
		}
		s.Total = s.Total.Add(d)
		s.Rows++
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]RunCurrencyTotal, 0, len(sums))
	for _, s := range sums {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].RunID != out[j].RunID {
			return out[i].RunID < out[j].RunID
		}
		return out[i].Currency < out[j].Currency
	})
	return out, nil
}

// sameTotals compares two sorted total lists.
func sameTotals(src, dst []RunCurrencyTotal) error {
	if len(src) != len(dst) {
		return fmt.Errorf("copy ledger: %d run and currency totals in the target, %d in the source", len(dst), len(src))
	}
	for i := range src {
		s, d := src[i], dst[i]
		if s.RunID != d.RunID || s.Currency != d.Currency || s.Rows != d.Rows || !s.Total.Equal(d.Total) {
			return fmt.Errorf("copy ledger: run %d %s totals %s over %d rows in the source, run %d %s %s over %d rows in the target",
				s.RunID, s.Currency, s.Total, s.Rows, d.RunID, d.Currency, d.Total, d.Rows)
		}
	}
	return nil
}
