package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/payrun/payrun/ledger/flock"
)

// LockOwner identifies the process holding a ledger's lock.
type LockOwner struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Command string    `json:"command,omitempty"` // e.g. "payrun run sheet.xlsx"
}

// Lock is a held single-writer lock on a ledger. Release it when the work is
// done; if the process dies instead, the operating system drops it and the
// next Lock takes it over.
type Lock struct {
	pgConn   *sql.Conn // PostgreSQL: the session holding the advisory lock (lock_pg.go)
	path     string
	id       *identityLock
	f        *os.File
	owner    LockOwner
	previous *LockOwner
	once     sync.Once
	err      error
}

// LockPath is the sidecar lock file of the ledger at ledgerPath. Open
// resolves symlinks, so Ledger.Path, and the sidecar named after it, are
// the same for every symlink to one file.
func LockPath(ledgerPath string) string { return ledgerPath + ".lock" }

// identityLock is this process's descriptor of one ledger file, on which
// Lock takes an flock: the file's identity (device and inode), whatever
// name, symlink, hard link or bind mount it was reached through. The
// sidecar lock alone is keyed by name, and a second name for the same
// database once let two runs write it at the same time.
//
// The descriptor is opened once per file and never closed: closing any
// descriptor of a file drops every POSIX (fcntl) lock the process holds on
// it, and SQLite's own locks on the ledger are POSIX locks. flock(2) locks
// are a separate kind (on local file systems; a ledger on NFS is not
// supported anyway, as WAL needs shared memory), so SQLite does not see this
// one.
type identityLock struct {
	fi   os.FileInfo
	f    *os.File
	held bool // by a Lock of this process; flock would not refuse it twice
}

var identityLocks struct {
	sync.Mutex
	files []*identityLock
}

// takeIdentity takes the identity lock of the file at path. held is false
// when another Lock, of this process or another, has it.
func takeIdentity(path string) (id *identityLock, held bool, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	identityLocks.Lock()
	defer identityLocks.Unlock()
	for _, c := range identityLocks.files {
		if os.SameFile(c.fi, fi) {
			id = c
			break
		}
	}
	if id == nil {
		f, err := os.Open(path)
		if err != nil {
			return nil, false, err
		}
		id = &identityLock{fi: fi, f: f}
		identityLocks.files = append(identityLocks.files, id)
	}
	if id.held {
		return id, false, nil
	}
	if held, err = flock.TryLock(id.f); err != nil || !held {
		return id, false, err
	}
	id.held = true
	return id, true, nil
}

// release drops the identity lock; the descriptor stays open (see
// identityLock).
func (id *identityLock) release() error {
	identityLocks.Lock()
	defer identityLocks.Unlock()
	id.held = false
	return flock.Unlock(id.f)
}

// Lock takes the ledger's single-writer lock for owner, whose zero fields
// default to this process's pid, the host name and the clock's time. It never
// waits: if a live process holds the lock it fails at once with a
// *LockedError (ErrLocked) naming that process.
//
// The lock is an flock(2) on "<ledger>.lock", which records the owner as
// JSON. The kernel releases an flock when its holder dies, so a lock left by
// a crashed or killed process is simply taken over; Previous reports whom it
// was taken from. The file is never deleted, which is what keeps two
// processes from each locking a different inode of it.
//
// On a PostgreSQL ledger the lock is a session advisory lock instead (see
// lockPG): the server drops it when the holder's connection ends.
func (l *Ledger) Lock(ctx context.Context, owner LockOwner) (*Lock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if owner.PID == 0 {
		owner.PID = os.Getpid()
	}
	if owner.Host == "" {
		owner.Host, _ = os.Hostname()
	}
	if owner.Started.IsZero() {
		owner.Started = l.now()
	}
	owner.Started = owner.Started.UTC()
	if l.pg {
		return l.lockPG(ctx, owner)
	}
	path := LockPath(l.path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock ledger: %w", err)
	}
	// The sidecar first, as payrun always took it (an older payrun still
	// excludes this one), then the file's identity.
	held, err := flock.TryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock ledger: %w", err)
	}
	if !held {
		other, _ := readOwner(f)
		f.Close()
		return nil, &LockedError{Path: l.path, LockFile: path, Owner: other}
	}
	id, held, err := takeIdentity(l.path)
	if err != nil || !held {
		// The holder came through another name (a hard link): its owner
		// record is in that name's sidecar, unknown here.
		other, _ := readOwner(f)
		flock.Unlock(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("lock ledger: %w", err)
		}
		return nil, &LockedError{Path: l.path, LockFile: path, Owner: other}
	}
	lk := &Lock{path: path, id: id, f: f, owner: owner}
	// A non-empty file means its writer died holding the lock: Release
	// empties it.
	if prev, err := readOwner(f); err == nil && prev.PID != 0 {
		lk.previous = &prev
	}
	b, _ := json.Marshal(owner)
	if err := writeOwner(f, b); err != nil {
		id.release()
		flock.Unlock(f)
		f.Close()
		return nil, fmt.Errorf("lock ledger: record owner: %w", err)
	}
	return lk, nil
}

// LockHeld reports whether a process (this one included) holds the
// ledger's Lock now, for a reader that must not take it: the console
// tells a run whose runner died (lock free) from one still paying. On
// SQLite it tries the sidecar's flock and drops it at once when it got
// it, so a Lock taken by another process in that instant is refused as if
// the ledger were in use; it writes nothing. On PostgreSQL it asks
// pg_locks, taking nothing.
func (l *Ledger) LockHeld(ctx context.Context) (bool, error) {
	if l.pg {
		return l.lockHeldPG(ctx)
	}
	fi, err := os.Stat(l.path)
	if err != nil {
		return false, fmt.Errorf("probe ledger lock: %w", err)
	}
	identityLocks.Lock()
	for _, c := range identityLocks.files {
		if os.SameFile(c.fi, fi) && c.held {
			identityLocks.Unlock()
			return true, nil
		}
	}
	identityLocks.Unlock()
	f, err := os.Open(LockPath(l.path))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // never locked
	}
	if err != nil {
		return false, fmt.Errorf("probe ledger lock: %w", err)
	}
	defer f.Close()
	got, err := flock.TryLock(f)
	if err != nil {
		return false, fmt.Errorf("probe ledger lock: %w", err)
	}
	if got {
		if err := flock.Unlock(f); err != nil {
			return false, fmt.Errorf("probe ledger lock: %w", err)
		}
		return false, nil
	}
	return true, nil
}

// Owner is the lock's owner as recorded in the lock file.
func (lk *Lock) Owner() LockOwner { return lk.owner }

// Previous is the owner of a lock that was taken over from a dead process,
// or nil.
func (lk *Lock) Previous() *LockOwner { return lk.previous }

// Release empties the lock file and drops the lock. It is safe to call more
// than once.
func (lk *Lock) Release() error {
	lk.once.Do(func() {
		if lk.pgConn != nil {
			lk.err = lk.releasePG()
			return
		}
		err := writeOwner(lk.f, nil)
		err = errors.Join(err, lk.id.release(), flock.Unlock(lk.f), lk.f.Close())
		if err != nil {
			lk.err = fmt.Errorf("release ledger lock: %w", err)
		}
	})
	return lk.err
}

func readOwner(f *os.File) (LockOwner, error) {
	var o LockOwner
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
	if err != nil || len(b) == 0 {
		return o, err
	}
	err = json.Unmarshal(b, &o)
	return o, err
}

func writeOwner(f *os.File, b []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if len(b) > 0 {
		if _, err := f.WriteAt(b, 0); err != nil {
			return err
		}
	}
	return f.Sync()
}
