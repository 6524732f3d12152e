package ledger

import (
	"context"
	"database/sql"
)

// traceQuery, when set (tests only, see SetQueryTrace), sees every read
// query and its arguments before it runs: the EXPLAIN QUERY PLAN tests use
// it to check the plan of every query a command actually runs.
var traceQuery func(q string, args []any)

// rq runs a read query on the reader pool.
func (l *Ledger) rq(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if traceQuery != nil {
		traceQuery(q, args)
	}
	return l.rdb.QueryContext(ctx, q, args...)
}

// rqRow runs a one-row read query on the reader pool.
func (l *Ledger) rqRow(ctx context.Context, q string, args ...any) *sql.Row {
	if traceQuery != nil {
		traceQuery(q, args)
	}
	return l.rdb.QueryRowContext(ctx, q, args...)
}
