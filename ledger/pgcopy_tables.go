package ledger

// The table-by-table part of CopyToPostgres: reading SQLite's schema,
// checking the target's against it, copying rows and moving the identity
// sequences past the file's ids.

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

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
