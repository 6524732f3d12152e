package ledger

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"github.com/payrun/payrun/internal/dirsync"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Backup writes a consistent, compacted copy of the ledger to dest with
// VACUUM INTO, then makes it durable: written beside dest under a temporary
// name, fsynced, renamed over dest, and the directory fsynced. The copy has
// mode 0600. It is a transactionally consistent snapshot even while others
// write, but callers that want a copy "between runs" (payrun ledger backup)
// should hold the Lock while calling it. On a PostgreSQL ledger it returns
// ErrNotOnPostgres: use the database's own backups (pg_dump, base backups
// with point-in-time recovery).
func (l *Ledger) Backup(ctx context.Context, dest string) error {
	if l.pg {
		return fmt.Errorf("back up ledger: %w: use pg_dump or the database's backups", ErrNotOnPostgres)
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("back up ledger: %w", err)
	}
	if abs == l.path {
		return fmt.Errorf("back up ledger: destination is the ledger itself")
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp"+strconv.Itoa(os.Getpid()))
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("back up ledger: %w", err)
	}
	defer os.Remove(tmp) // a no-op after the rename
	conn, err := l.rdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("back up ledger: %w", err)
	}
	defer conn.Close()
	// Reader connections are query_only, which also refuses VACUUM INTO
	// (it writes, if only to another file). Lift it for this statement.
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 0`); err != nil {
		return fmt.Errorf("back up ledger: %w", err)
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, tmp)
	if _, err2 := conn.ExecContext(context.Background(), `PRAGMA query_only = 1`); err2 != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn }) // never reuse it writable
	}
	if err != nil {
		return fmt.Errorf("back up ledger: vacuum into %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("back up ledger: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("back up ledger: %w", err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		return fmt.Errorf("back up ledger: %w", err)
	}
	if err := dirsync.Dir(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("back up ledger: sync directory: %w", err)
	}
	return nil
}
