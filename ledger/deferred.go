package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// deferredIndex is an index over a table that grows every month. A
// migration may not build one (building it reads the whole table, which on a
// five-year ledger holds the write lock for seconds: see
// TestNewMigrationsAreBounded), so the first writer open builds it instead:
// at once when the table is small, else in the background through the
// writer goroutine. Until it exists the queries it serves still answer,
// only by walking the table.
type deferredIndex struct {
	name, table, sql string
}

// deferredIndexes are built after open, in this order.
var deferredIndexes = []deferredIndex{
	// LedgerFlips (report, run results) reads the 'flip' events among
	// millions; by kind it finds them directly.
	{"events_by_kind", "events", `CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, id)`},
}

// deferredNowBelow is the table size (by its largest rowid) under which a
// deferred index is built during Open: well under a second.
const deferredNowBelow = 200_000

// buildDeferred builds the missing deferred indexes of a writable ledger
// on small tables now, and leaves those on big ones in l.deferred for
// startDeferred.
func (l *Ledger) buildDeferred(ctx context.Context) error {
	var later []deferredIndex
	for _, d := range deferredIndexes {
		if l.pg {
			// Built by migratePG, under its lock.
			continue
		}
		var n int
		if err := l.wdb.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?`, d.name).Scan(&n); err != nil {
			return fmt.Errorf("open ledger %s: look for index %s: %w", l.path, d.name, err)
		}
		if n > 0 {
			continue
		}
		var size sql.NullInt64
		if err := l.wdb.QueryRowContext(ctx, `SELECT max(rowid) FROM `+d.table).Scan(&size); err != nil {
			return fmt.Errorf("open ledger %s: size %s: %w", l.path, d.table, err)
		}
		if size.Int64 < deferredNowBelow {
			if _, err := l.wdb.ExecContext(ctx, d.sql); err != nil {
				return fmt.Errorf("open ledger %s: build index %s: %w", l.path, d.name, err)
			}
			continue
		}
		later = append(later, d)
	}
	l.deferred = later
	return nil
}

// startDeferred builds l.deferred in the background through the writer
// goroutine, which must be running: one write each, queued like any other,
// so a run's writes wait for it once rather than the open.
func (l *Ledger) startDeferred() {
	if len(l.deferred) == 0 {
		return
	}
	later := l.deferred
	go func() {
		for _, d := range later {
			err := l.write(context.Background(), true, func(tx *wtx) error {
				_, err := tx.exec(d.sql)
				return err
			})
			// A ledger closed first builds it at its next open.
			if err != nil && !errors.Is(err, ErrClosed) {
				return
			}
		}
	}()
}
