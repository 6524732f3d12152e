package ledger

import (
	"context"
	"database/sql"
	"time"
)

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

// OpenRaw opens the ledger at loc (a file or a postgres:// URL) directly,
// bypassing the API, for tests that tamper with it; statements are written
// in SQLite's dialect on both backends.
func OpenRaw(loc string) (*sql.DB, error) {
	if !IsPostgresURL(loc) {
		return sql.Open("sqlite", loc)
	}
	cfg, err := pgConfig(loc)
	if err != nil {
		return nil, err
	}
	return openPG(cfg, false), nil
}

// WriterSetting returns a setting of the writer's PostgreSQL session.
func (l *Ledger) WriterSetting(ctx context.Context, name string) (string, error) {
	var v string
	err := l.wdb.QueryRowContext(ctx, `SELECT current_setting(?)`, name).Scan(&v)
	return v, err
}

// PostgresOnlyColumns are the columns only a PostgreSQL ledger has.
var PostgresOnlyColumns = postgresOnlyColumns

// WriteInside runs a write that records an event with message msg and then
// calls inside before its transaction commits: a writer frozen inside its
// transaction, for tests. shared makes it a shared write (writeShared).
func (l *Ledger) WriteInside(ctx context.Context, shared bool, msg string, inside func()) error {
	fn := func(tx *wtx) error {
		if err := insertEvent(tx, Event{Kind: EventAPICall, Message: msg}, formatTime(l.now())); err != nil {
			return err
		}
		inside()
		return nil
	}
	if shared {
		return l.writeShared(ctx, fn)
	}
	return l.write(ctx, false, fn)
}

// WriteBusy runs an exclusive write whose transaction keeps the server
// busy for d (pg_sleep): a long write, not a frozen one, for tests.
func (l *Ledger) WriteBusy(ctx context.Context, d time.Duration) error {
	return l.write(ctx, false, func(tx *wtx) error {
		_, err := tx.exec(`SELECT pg_sleep(?)`, d.Seconds())
		return err
	})
}
