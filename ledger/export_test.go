package ledger

import "context"

// SetQueryTrace makes fn see every read query the ledger runs (nil stops
// it); tests only.
func SetQueryTrace(fn func(q string, args []any)) { traceQuery = fn }

// ExplainQueryPlan returns SQLite's plan for query q with args, one detail
// line per step, for tests that check a query uses an index.
func (l *Ledger) ExplainQueryPlan(ctx context.Context, q string, args ...any) ([]string, error) {
	rs, err := l.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var (
			id, parent, notused int
			detail              string
		)
		if err := rs.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, err
		}
		out = append(out, detail)
	}
	return out, rs.Err()
}
