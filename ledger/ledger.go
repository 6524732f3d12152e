package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/payrun/payrun/internal/dirsync"
	"github.com/payrun/payrun/ledger/faultpoint"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Options tune Open. The zero value is a read-write ledger on the wall clock.
type Options struct {
	// Clock stamps every time the ledger writes itself (created_at,
	// updated_at, event times when the caller left them zero). Tests inject
	// a fake; nil means time.Now.
	Clock func() time.Time
	// ReadOnly opens an existing ledger for reading only (status, report,
	// export): no file is created, no migration runs, and every write
	// returns ErrReadOnly. Safe while another process holds the Lock.
	ReadOnly bool
	// BusyTimeout is how long a statement waits for another process's write
	// transaction before failing with SQLITE_BUSY; zero means 10s.
	BusyTimeout time.Duration
}

// Ledger is an open ledger file. It is safe for concurrent use by many
// goroutines: reads run on a small pool of connections, and every write goes
// through one writer goroutine that group-commits concurrent writes.
type Ledger struct {
	path     string
	clock    func() time.Time
	readOnly bool

	rdb *sql.DB // readers: query_only connections
	wdb *sql.DB // the single writer connection (nil when read-only)

	stmts     map[string]*sql.Stmt // the writer goroutine's statement cache
	toPrepare map[string]struct{}  // statements to add to it
	queue     chan *writeReq
	closing   chan struct{}
	writerEnd chan struct{}
	deferred  []deferredIndex // indexes to build in the background (deferred.go)
	pg        bool            // a PostgreSQL ledger (dialect.go); false: a SQLite file
	lockdb    *sql.DB         // PostgreSQL: the sessions holding advisory locks (lock_pg.go)
	pgBusy    string          // PostgreSQL: lock_timeout in ms (writer.go restores it)
	closeOnce sync.Once
	closeErr  error
}

// Open opens the ledger at path, creating and migrating it as needed. A
// postgres:// or postgresql:// URL opens a PostgreSQL ledger instead (see
// openPostgres); anything else is a SQLite file path. The
// file is created with mode 0600. It fails with ErrNewerSchema (as a
// *SchemaVersionError naming both versions) when the file was written by a
// newer payrun, and with ErrNotWAL if SQLite would not switch to WAL.
func Open(ctx context.Context, path string, opts Options) (*Ledger, error) {
	if IsPostgresURL(path) {
		return openPostgres(ctx, path, opts)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	l := &Ledger{
		path:      abs,
		clock:     opts.Clock,
		readOnly:  opts.ReadOnly,
		stmts:     make(map[string]*sql.Stmt),
		toPrepare: make(map[string]struct{}),
		queue:     make(chan *writeReq, 1024),
		closing:   make(chan struct{}),
		writerEnd: make(chan struct{}),
	}
	if l.clock == nil {
		l.clock = time.Now
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 10 * time.Second
	}
	created := false
	if opts.ReadOnly {
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("open ledger %s: %w", path, err)
		}
	} else if created, err = createLedgerFile(ctx, abs, busy); err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	// The file itself, not a symlink to it: the lock and its sidecar are
	// then the same whichever link a run came through.
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		l.path = real
	}
	if !created {
		if err := checkNotEmpty(l.path); err != nil {
			return nil, fmt.Errorf("open ledger %s: %w", path, err)
		}
	}
	if err := l.open(ctx, busy); err != nil {
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

func (l *Ledger) open(ctx context.Context, busy time.Duration) error {
	var err error
	if !l.readOnly {
		l.wdb, err = sql.Open("sqlite", dsn(l.path, busy, false))
		if err != nil {
			return fmt.Errorf("open ledger %s: %w", l.path, err)
		}
		// One connection: SQLite has one writer anyway, and the writer
		// goroutine is the only user of this pool.
		l.wdb.SetMaxOpenConns(1)
		l.wdb.SetMaxIdleConns(1)
		l.wdb.SetConnMaxLifetime(0)
		l.wdb.SetConnMaxIdleTime(0)
		var mode string
		if err := l.wdb.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
			return fmt.Errorf("open ledger %s: set WAL: %w", l.path, err)
		}
		if mode != "wal" {
			return fmt.Errorf("open ledger %s: %w (journal_mode is %q)", l.path, ErrNotWAL, mode)
		}
		if err := checkPragmas(ctx, l.wdb); err != nil {
			return fmt.Errorf("open ledger %s: %w", l.path, err)
		}
		if err := migrate(ctx, l.wdb, l.path); err != nil {
			return err
		}
		if err := l.buildDeferred(ctx); err != nil {
			return err
		}
	}
	l.rdb, err = sql.Open("sqlite", dsn(l.path, busy, true))
	if err != nil {
		return fmt.Errorf("open ledger %s: %w", l.path, err)
	}
	l.rdb.SetMaxOpenConns(4)
	l.rdb.SetMaxIdleConns(4)
	v, err := userVersion(ctx, l.rdb)
	if err != nil {
		return fmt.Errorf("open ledger %s: %w", l.path, err)
	}
	if v != SchemaVersion {
		return &SchemaVersionError{Path: l.path, File: v, Code: SchemaVersion}
	}
	return nil
}

// checkPragmas verifies that the DSN's per-connection pragmas took effect:
// a driver that silently ignored them would void the durability promise.
func checkPragmas(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		name string
		want int
	}{{"synchronous", 2}, {"foreign_keys", 1}} {
		var got int
		if err := db.QueryRowContext(ctx, "PRAGMA "+p.name).Scan(&got); err != nil {
			return fmt.Errorf("read pragma %s: %w", p.name, err)
		}
		if got != p.want {
			return fmt.Errorf("pragma %s is %d, want %d", p.name, got, p.want)
		}
	}
	return nil
}

// dsn builds the modernc.org/sqlite data source name. The pragmas are set on
// every new connection because foreign_keys, synchronous and busy_timeout are
// per connection in SQLite.
func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	// FULL: in WAL mode every commit fsyncs the WAL, so a transition that
	// returned is on disk before the runner sends the call it announces.
	q.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN, so a transaction never fails
		// half-way trying to upgrade a read lock.
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// createLedgerFile creates a new ledger at path unless one exists there;
// created says whether this call made it. The file is built whole under a
// temporary name in the same folder (mode 0600, which SQLite would not use:
// it creates 0644), migrated and synced, and only then linked to path, so
// path never names a half-made ledger. Before, path was created empty first:
// a process killed before SQLite wrote the schema left a 0-byte file that
// every later run refused as a lost ledger (ErrEmptyLedger, exit 3). Linking,
// not renaming, means that of two processes creating the same ledger at once
// one wins and the other opens the winner's file.
func createLedgerFile(ctx context.Context, path string, busy time.Duration) (created bool, err error) {
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	dir, base := filepath.Split(path)
	removeStaleCreations(dir, base)
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.creating-%d-%d", base, os.Getpid(), time.Now().UnixNano()))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp) // the link below keeps the ledger; this drops the temporary name
	if err := f.Close(); err != nil {
		return false, err
	}
	faultpoint.Hit("ledger.create")
	if err := buildSchema(ctx, tmp, busy); err != nil {
		return false, err
	}
	if err := syncFile(tmp); err != nil {
		return false, err
	}
	switch err := os.Link(tmp, path); {
	case errors.Is(err, fs.ErrExist):
		return false, nil // another process created it first: open theirs
	case err != nil:
		// A file system without hard links (some network and FAT
		// mounts): rename instead, which could replace a ledger another
		// process created in the last instant, so look first.
		if _, serr := os.Lstat(path); serr == nil {
			return false, nil
		}
		if err := os.Rename(tmp, path); err != nil {
			return false, fmt.Errorf("create: %w", err)
		}
	default:
		if err := os.Remove(tmp); err != nil {
			return false, err
		}
	}
	return true, dirsync.Dir(dir)
}

// buildSchema writes the current schema into the empty file at path, in WAL
// mode, and checkpoints so the whole ledger is in the file itself (a WAL is
// named after its database, and the file is about to be linked elsewhere).
func buildSchema(ctx context.Context, path string, busy time.Duration) error {
	db, err := sql.Open("sqlite", dsn(path, busy, false))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("set WAL: %w", err)
	}
	if err := migrate(ctx, db, path); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("checkpoint new ledger: %w", err)
	}
	return db.Close()
}

// syncFile fsyncs the file at path. It opens the file for writing: Windows
// refuses to flush a read-only handle.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// removeStaleCreations removes what processes killed while creating a ledger
// in dir left behind: temporary files of createLedgerFile (and their WAL
// and shared-memory files) whose process is gone. A creation still under way
// in another live process is left alone.
func removeStaleCreations(dir, base string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "."+base+".creating-*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), "."+base+".creating-")
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.Remove(m)
	}
}

// checkNotEmpty refuses an existing ledger file of 0 bytes with
// ErrEmptyLedger. SQLite would take it for a new database, and payrun would
// then pay the whole sheet again; an empty file is a lost ledger (a failed
// copy, a truncation), which the README promises ends the run with exit 3.
// A file whose pages all still sit in its WAL is not empty.
func checkNotEmpty(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() > 0 {
		return nil
	}
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
		return nil
	}
	return fmt.Errorf("%w: it was truncated or lost its content; restore it from a backup (payrun ledger backup), or remove it to start a new ledger", ErrEmptyLedger)
}

// Path returns the absolute path of the ledger file, or for a PostgreSQL
// ledger its URL (which never holds a password).
func (l *Ledger) Path() string { return l.path }

// Close waits for queued writes to finish and closes the file. Writes
// submitted after Close return ErrClosed.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		close(l.closing)
		<-l.writerEnd
		l.closeErr = l.closeDBs()
	})
	return l.closeErr
}

func (l *Ledger) closeDBs() error {
	var errs []error
	if l.rdb != nil {
		errs = append(errs, l.rdb.Close())
	}
	if l.wdb != nil {
		errs = append(errs, l.wdb.Close())
	}
	if l.lockdb != nil {
		errs = append(errs, l.lockdb.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close ledger %s: %w", l.path, err)
	}
	return nil
}

// now returns the clock's time in UTC.
func (l *Ledger) now() time.Time { return l.clock().UTC() }
