package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// pgLockAppPrefix starts the application_name of the session holding a
// PostgreSQL ledger's Lock, followed by "<pid>@<host> <command>": a refused
// Lock reads the holder back from pg_stat_activity. The server cuts
// application_name at 63 bytes, so a long command is cut short.
const pgLockAppPrefix = "payrun lock "

// lockPG takes the ledger Lock of a PostgreSQL ledger: the session advisory
// lock (pgLockClass, pgLockLedger) on a connection of its own, held until
// Release. It never waits. When the holding process dies its connection
// ends and the server drops the lock, as the kernel drops an flock; the dead
// holder is not remembered, so Previous is always nil here.
//
// This is the one-process lock of SQLite carried over, the foundation for
// the per-run lease with fencing tokens that several runners will share.
func (l *Ledger) lockPG(ctx context.Context, owner LockOwner) (*Lock, error) {
	conn, err := l.lockdb.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock ledger: %w", err)
	}
	var held bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(?, `+pgLockKey+`)`, pgLockClass, pgLockLedger).Scan(&held); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock ledger: %w", err)
	}
	if !held {
		other := l.pgLockHolder(ctx, conn)
		conn.Close()
		return nil, &LockedError{Path: l.path, Owner: other}
	}
	app := pgLockAppPrefix + strconv.Itoa(owner.PID) + "@" + strings.ReplaceAll(owner.Host, " ", "_")
	if owner.Command != "" {
		app += " " + owner.Command
	}
	if _, err := conn.ExecContext(ctx, `SELECT set_config('application_name', ?, false)`, app); err != nil {
		conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(?, `+pgLockKey+`)`, pgLockClass, pgLockLedger)
		conn.Close()
		return nil, fmt.Errorf("lock ledger: record owner: %w", err)
	}
	return &Lock{pgConn: conn, path: l.path, owner: owner}, nil
}

// pgLockHolder names the session holding the ledger Lock, as far as
// pg_stat_activity tells (the zero owner if it cannot).
func (l *Ledger) pgLockHolder(ctx context.Context, conn *sql.Conn) LockOwner {
	var app sql.NullString
	var started sql.NullTime
	err := conn.QueryRowContext(ctx, `SELECT a.application_name, a.backend_start
		FROM pg_locks k JOIN pg_stat_activity a ON a.pid = k.pid
		WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 2
		AND k.classid = CAST(? AS BIGINT)::oid AND k.objid = `+pgLockKey+`::oid
		AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		LIMIT 1`, pgLockClass, pgLockLedger).Scan(&app, &started)
	if err != nil {
		return LockOwner{}
	}
	return parseLockApp(app.String, started.Time)
}

// lockHeldPG reports whether a session holds the ledger Lock.
func (l *Ledger) lockHeldPG(ctx context.Context) (bool, error) {
	var held bool
	err := l.lockdb.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks k
		WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 2
		AND k.classid = CAST(? AS BIGINT)::oid AND k.objid = `+pgLockKey+`::oid
		AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`, pgLockClass, pgLockLedger).Scan(&held)
	if err != nil {
		return false, fmt.Errorf("probe ledger lock: %w", err)
	}
	return held, nil
}

// releasePG drops the advisory lock and closes its session.
func (lk *Lock) releasePG() error {
	_, err := lk.pgConn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(?, `+pgLockKey+`)`, pgLockClass, pgLockLedger)
	err = errors.Join(err, lk.pgConn.Close())
	if err != nil {
		return fmt.Errorf("release ledger lock: %w", err)
	}
	return nil
}

// parseLockApp reads "<pid>@<host> <command>" back from a lock session's
// application_name.
func parseLockApp(app string, started time.Time) LockOwner {
	rest, ok := strings.CutPrefix(app, pgLockAppPrefix)
	if !ok {
		return LockOwner{}
	}
	pidText, rest, _ := strings.Cut(rest, "@")
	host, command, _ := strings.Cut(rest, " ")
	pid, _ := strconv.Atoi(pidText)
	return LockOwner{PID: pid, Host: host, Started: started.UTC(), Command: command}
}
