package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgLockClass is the first key of every advisory lock payrun takes on a
// PostgreSQL ledger ("payr"). The second is pgLockKey: a hash of the
// ledger's schema and the lock's name, because advisory locks belong to the
// database and one database may hold several ledgers, one per schema
// (search_path). Run leases will take further names.
const pgLockClass = 0x70617972

// pgLockKey is the SQL of an advisory lock's second key; its one parameter
// is the lock's name.
const pgLockKey = `hashtext(current_schema() || '/' || CAST(? AS TEXT))`

// pgWriteLockWait is how long a write waits for the ledger's write lock
// (writer.go). Longer than lock_timeout: the holder may be another
// process's big write (recording a 100,000-row sheet on a loaded server
// takes many seconds), and a holder frozen inside its transaction no
// longer holds it for long (idle_in_transaction_session_timeout,
// openPostgres).
const pgWriteLockWait = 5 * time.Minute

// Advisory lock names.
const (
	pgLockLedger  = "lock"    // Lock: the one-process lock the flock is on SQLite
	pgLockMigrate = "migrate" // held by a migration for its transaction
	pgLockWrite   = "write"   // held by every write transaction (writer.go)
)

// openPostgres opens the PostgreSQL ledger named by rawURL. It is Open for a
// URL: the same writer goroutine with group commit, the same reader pool,
// migrations from migrations/postgres/ recorded in the schema_version table
// (the file's PRAGMA user_version on SQLite). What a file brings on SQLite
// is left to the server: there is no file to create, lock or sync; Lock is
// a session advisory lock (lock_pg.go). BusyTimeout becomes lock_timeout,
// and half of it the writer's idle_in_transaction_session_timeout.
func openPostgres(ctx context.Context, rawURL string, opts Options) (*Ledger, error) {
	cfg, err := pgConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	l := &Ledger{
		path:      redactURL(rawURL),
		clock:     opts.Clock,
		readOnly:  opts.ReadOnly,
		pg:        true,
		stmts:     make(map[string]*sql.Stmt),
		toPrepare: make(map[string]struct{}),
		queue:     make(chan *writeReq, 1024),
		closing:   make(chan struct{}),
		writerEnd: make(chan struct{}),
	}
	if l.clock == nil {
		l.clock = time.Now
	}
	if len(pgMigrations) != len(migrations) {
		return nil, fmt.Errorf("open ledger %s: this payrun has %d SQLite migrations but %d for PostgreSQL: a migration lacks its migrations/postgres/ file", l.path, len(migrations), len(pgMigrations))
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	l.pgBusy = strconv.FormatInt(busy.Milliseconds(), 10)
	cfg.RuntimeParams["lock_timeout"] = l.pgBusy
	// A writer that freezes inside its transaction (a VM paused, a
	// SIGSTOP, a long stall) would hold the ledger's write lock, and so
	// every runner's writes, until it woke. The server instead aborts a
	// write transaction left idle for half the lock wait and ends its
	// session (idle_in_transaction_session_timeout), which frees the lock
	// before the other writers' lock_timeout gives up on it. The frozen
	// writer's next statement or COMMIT then fails when it wakes: nothing
	// of its batch was written and each caller sees an error (the runner
	// stops the run, ErrAborted, and the rows resume as after a crash).
	// Readers keep no such limit: a report streaming a big run may stay
	// in its read transaction.
	wcfg := cfg.Copy()
	wcfg.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(max(busy/2, 100*time.Millisecond).Milliseconds(), 10)
	if err := l.openPG(ctx, cfg, wcfg); err != nil {
		l.closeDBs()
		return nil, err
	}
	if l.readOnly {
		close(l.writerEnd)
	} else {
		go l.writer()
		l.startDeferred()
	}
	return l, nil
}

// openPG opens the writer (on wcfg) and the readers and lock sessions (on
// cfg).
func (l *Ledger) openPG(ctx context.Context, cfg, wcfg *pgx.ConnConfig) error {
	if !l.readOnly {
		l.wdb = openPG(wcfg, false)
		// A transition must be durable before the call it announces is
		// sent: a server (or role, or URL) defaulting to
		// synchronous_commit=off would lose the last commits in a crash,
		// so the writer then asks for on. A stronger setting
		// (remote_apply for a synchronous replica) is kept.
		var sc string
		if err := l.wdb.QueryRowContext(ctx, `SELECT current_setting('synchronous_commit')`).Scan(&sc); err != nil {
			return fmt.Errorf("open ledger %s: %w", l.path, err)
		}
		if sc == "off" {
			l.wdb.Close()
			c := wcfg.Copy()
			c.RuntimeParams["synchronous_commit"] = "on"
			l.wdb = openPG(c, false)
		}
		// One connection, as on SQLite: the writer goroutine is its only
		// user, and its prepared statements live on it.
		l.wdb.SetMaxOpenConns(1)
		l.wdb.SetMaxIdleConns(1)
		l.wdb.SetConnMaxLifetime(0)
		l.wdb.SetConnMaxIdleTime(0)
		if err := migratePG(ctx, l.wdb, l.path); err != nil {
			return err
		}
		if err := l.buildDeferred(ctx); err != nil {
			return err
		}
	}
	l.rdb = openPG(cfg, true)
	l.rdb.SetMaxOpenConns(4)
	l.rdb.SetMaxIdleConns(4)
	l.lockdb = openPG(cfg, true)
	l.lockdb.SetMaxIdleConns(0)
	v, err := pgSchemaVersion(ctx, l.rdb)
	if err != nil {
		return fmt.Errorf("open ledger %s: %w", l.path, err)
	}
	if v != SchemaVersion {
		return &SchemaVersionError{Path: l.path, File: v, Code: SchemaVersion}
	}
	return nil
}

// pgSchemaVersion reads the schema_version table; a database without one
// is at version 0.
func pgSchemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// migratePG brings a PostgreSQL ledger up to SchemaVersion in one
// transaction (PostgreSQL's DDL is transactional, so a crash leaves the
// previous version), under an advisory lock so two processes opening a new
// ledger at once migrate it once.
func migratePG(ctx context.Context, db *sql.DB, path string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?, `+pgLockKey+`)`, pgLockClass, pgLockMigrate); err != nil {
		return fmt.Errorf("migrate ledger: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version BIGINT NOT NULL CHECK (version >= 0))`); err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	v, err := pgSchemaVersion(ctx, tx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return &SchemaVersionError{Path: path, File: v, Code: SchemaVersion}
	}
	// The deferred indexes are built here, under the lock: two processes
	// opening a new ledger at once would otherwise both CREATE INDEX IF
	// NOT EXISTS after the migration, and PostgreSQL fails one of them on
	// pg_class's unique index (seen with two `payrun run` started
	// together). Every PostgreSQL ledger was made by a payrun that knows
	// them, so they are built while the tables are still empty; after
	// that IF NOT EXISTS is a catalog lookup.
	// Each build runs in a savepoint: IF NOT EXISTS does not cover a create
	// in flight in a session outside this lock (a payrun older than it, a
	// DBA), which PostgreSQL fails on pg_class's unique index once that
	// create commits; the index is there then, and the open goes on.
	buildIndexes := func() error {
		for _, d := range deferredIndexes {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT build_index`); err != nil {
				return fmt.Errorf("migrate ledger: build index %s: %w", d.name, err)
			}
			if _, err := tx.ExecContext(ctx, d.sql); err != nil {
				var there bool
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT build_index`); rerr != nil {
					return fmt.Errorf("migrate ledger: build index %s: %w", d.name, err)
				}
				if qerr := tx.QueryRowContext(ctx, `SELECT to_regclass(?) IS NOT NULL`, d.name).Scan(&there); qerr != nil || !there {
					return fmt.Errorf("migrate ledger: build index %s: %w", d.name, err)
				}
			}
		}
		return nil
	}
	if v == SchemaVersion {
		if err := buildIndexes(); err != nil {
			return err
		}
		return tx.Commit()
	}
	for _, m := range pgMigrations[v:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate ledger to %s: %w", m.name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
		return fmt.Errorf("migrate ledger: set version: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, SchemaVersion); err != nil {
		return fmt.Errorf("migrate ledger: set version: %w", err)
	}
	if err := buildIndexes(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate ledger: commit: %w", err)
	}
	return nil
}
