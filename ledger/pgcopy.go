package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

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

// copyTableInfo is one source table: its name and columns in order, and
// the tables its foreign keys name.
type copyTableInfo struct {
	name    string
	columns []string
	parents []string
}

// sqliteTables lists the ledger's tables (SQLite's own sqlite_* left out),
// parents before the tables whose foreign keys name them.
func sqliteTables(ctx context.Context, tx *sql.Tx) ([]copyTableInfo, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	byName := map[string]*copyTableInfo{}
	for _, n := range names {
		t := &copyTableInfo{name: n}
		if err := queryStrings(ctx, tx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, n, &t.columns); err != nil {
			return nil, err
		}
		if err := queryStrings(ctx, tx, `SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, n, &t.parents); err != nil {
			return nil, err
		}
		byName[n] = t
	}
	// Depth-first: each table after its parents. The ledger's foreign keys
	// form no cycle; one would be a schema error, reported.
	var out []copyTableInfo
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("foreign keys of table %s form a cycle", n)
		case 2:
			return nil
		}
		t, ok := byName[n]
		if !ok {
			return fmt.Errorf("a foreign key names table %s, which does not exist", n)
		}
		state[n] = 1
		for _, p := range t.parents {
			if p == n {
				continue
			}
			if err := visit(p); err != nil {
				return err
			}
		}
		state[n] = 2
		out = append(out, *t)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// queryStrings appends the one-column answer of q to out.
func queryStrings(ctx context.Context, tx *sql.Tx, q string, arg any, out *[]string) error {
	rows, err := tx.QueryContext(ctx, q, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*out = append(*out, s)
	}
	return rows.Err()
}

// sqliteSequences reads SQLite's AUTOINCREMENT counters: the highest id
// each table ever gave out, deleted (archived) rows included.
func sqliteSequences(ctx context.Context, tx *sql.Tx) (map[string]int64, error) {
	out := map[string]int64{}
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'`).Scan(&exists); err != nil || exists == 0 {
		return out, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, seq FROM sqlite_sequence`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var s int64
		if err := rows.Scan(&n, &s); err != nil {
			return nil, err
		}
		out[n] = s
	}
	return out, rows.Err()
}

// checkTargetTables compares the target's tables and columns with the
// source's, and refuses a target holding any row.
func checkTargetTables(tx *wtx, tables []copyTableInfo) error {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_version' ORDER BY table_name, ordinal_position`)
	if err != nil {
		return fmt.Errorf("copy ledger: read target tables: %w", err)
	}
	target := map[string]map[string]bool{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return fmt.Errorf("copy ledger: read target tables: %w", err)
		}
		if target[t] == nil {
			target[t] = map[string]bool{}
		}
		target[t][c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("copy ledger: read target tables: %w", err)
	}
	var problems []string
	seen := map[string]bool{}
	for _, t := range tables {
		seen[t.name] = true
		cols, ok := target[t.name]
		if !ok {
			problems = append(problems, "table "+t.name+" is not in the target")
			continue
		}
		for _, c := range t.columns {
			if !cols[c] {
				problems = append(problems, "column "+t.name+"."+c+" is not in the target")
			}
		}
		if len(cols)-len(postgresOnlyColumns[t.name]) != len(t.columns) {
			problems = append(problems, fmt.Sprintf("table %s has %d columns in the target, %d in the source", t.name, len(cols), len(t.columns)))
		}
	}
	for t := range target {
		if !seen[t] {
			problems = append(problems, "table "+t+" is not in the source")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("copy ledger: %w: %s", ErrSchemaMismatch, strings.Join(problems, "; "))
	}
	var full []string
	for _, t := range tables {
		var held bool
		if err := tx.tx.QueryRowContext(tx.ctx, `SELECT EXISTS (SELECT 1 FROM "`+t.name+`")`).Scan(&held); err != nil {
			return fmt.Errorf("copy ledger: read target %s: %w", t.name, err)
		}
		if held {
			full = append(full, t.name)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("copy ledger: %w: it holds rows in %s; copy only into a new, empty ledger", ErrTargetNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// copyTable copies one table's rows, many rows to a statement, with every
// value as SQLite holds it (integers, text, blobs, NULL).
func copyTable(ctx context.Context, src *sql.Tx, tx *wtx, t copyTableInfo) (int64, error) {
	quoted := make([]string, len(t.columns))
	for i, c := range t.columns {
		quoted[i] = `"` + c + `"`
	}
	cols := strings.Join(quoted, ", ")
	rows, err := src.QueryContext(ctx, `SELECT `+cols+` FROM "`+t.name+`"`)
	if err != nil {
		return 0, fmt.Errorf("copy ledger: read %s: %w", t.name, err)
	}
	defer rows.Close()
	per := max(1, copyBatchParams/len(t.columns))
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.columns)), ", ") + ")"
	var args []any
	var n, inBatch int64
	flush := func() error {
		if inBatch == 0 {
			return nil
		}
		q := `INSERT INTO "` + t.name + `" (` + cols + `) VALUES ` + strings.TrimSuffix(strings.Repeat(one+", ", int(inBatch)), ", ")
		if _, err := tx.tx.ExecContext(tx.ctx, q, args...); err != nil {
			return fmt.Errorf("copy ledger: write %s: %w", t.name, err)
		}
		args, inBatch = args[:0], 0
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(t.columns))
		ptrs := make([]any, len(t.columns))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("copy ledger: read %s: %w", t.name, err)
		}
		args = append(args, vals...)
		inBatch++
		n++
		if inBatch >= int64(per) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("copy ledger: read %s: %w", t.name, err)
	}
	return n, flush()
}

// resetIdentities moves every identity sequence of the target past the
// highest id its table holds and past SQLite's AUTOINCREMENT counter for
// it, so the next run, event or plan gets a new id and never one an
// archived (deleted) row had.
func resetIdentities(tx *wtx, seqs map[string]int64) error {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`)
	if err != nil {
		return fmt.Errorf("copy ledger: read identity columns: %w", err)
	}
	type ident struct{ table, column string }
	var ids []ident
	for rows.Next() {
		var i ident
		if err := rows.Scan(&i.table, &i.column); err != nil {
			rows.Close()
			return fmt.Errorf("copy ledger: read identity columns: %w", err)
		}
		ids = append(ids, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("copy ledger: read identity columns: %w", err)
	}
	for _, i := range ids {
		var top int64
		if err := tx.tx.QueryRowContext(tx.ctx, `SELECT coalesce(max("`+i.column+`"), 0) FROM "`+i.table+`"`).Scan(&top); err != nil {
			return fmt.Errorf("copy ledger: read highest %s.%s: %w", i.table, i.column, err)
		}
		top = max(top, seqs[i.table])
		if top == 0 {
			continue // nothing given out: the sequence starts at 1 as it is
		}
		if _, err := tx.tx.ExecContext(tx.ctx, `SELECT setval(pg_get_serial_sequence(?, ?), ?)`, `"`+i.table+`"`, i.column, top); err != nil {
			return fmt.Errorf("copy ledger: set the sequence of %s.%s: %w", i.table, i.column, err)
		}
	}
	return nil
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
