package ledger

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Test for them with errors.Is; the errors returned wrap
// them with the detail (ids, states, versions).
var (
	// ErrNotFound means the run or row asked for is not in the ledger.
	ErrNotFound = errors.New("not found")
	// ErrStaleState means a Transition's compare-and-set lost: the row was
	// not in the expected state any more. The row was not changed.
	ErrStaleState = errors.New("stale state")
	// ErrIllegalTransition means the state machine does not allow the move.
	ErrIllegalTransition = errors.New("illegal transition")
	// ErrNewerSchema means the ledger file was written by a newer payrun.
	ErrNewerSchema = errors.New("ledger written by a newer payrun")
	// ErrOlderSchema means a read-only open found a ledger that needs a
	// migration, which only a read-write open may perform.
	ErrOlderSchema = errors.New("ledger needs a migration")
	// ErrLocked means another process holds the ledger's lock.
	ErrLocked = errors.New("ledger locked")
	// ErrReadOnly means a write was attempted on a ledger opened ReadOnly.
	ErrReadOnly = errors.New("ledger opened read-only")
	// ErrClosed means the ledger was used after Close.
	ErrClosed = errors.New("ledger closed")
	// ErrNotWAL means SQLite refused to put the file in WAL mode (for
	// example on a file system without shared memory), so the durability
	// and concurrent-reader guarantees would not hold.
	ErrNotWAL = errors.New("ledger not in WAL mode")
	// ErrEmptyLedger means the ledger file exists but holds nothing: it was
	// truncated or lost its content in a copy. It is refused rather than
	// started afresh, because a fresh ledger would pay the sheet again.
	ErrEmptyLedger = errors.New("ledger file is empty")
)

// StaleStateError is returned, matching ErrStaleState, when a Transition
// expected a row in one state and found it in another.
type StaleStateError struct {
	ID       string
	Expected State
	Actual   State
}

// Error names the row and both states.
func (e *StaleStateError) Error() string {
	return fmt.Sprintf("transition row %q: stale state: expected %s, found %s", e.ID, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrStaleState) true.
func (e *StaleStateError) Is(target error) bool { return target == ErrStaleState }

// SchemaVersionError is returned, matching ErrNewerSchema or ErrOlderSchema,
// when the file's schema version cannot be used by this build.
type SchemaVersionError struct {
	Path string
	File int // PRAGMA user_version of the file
	Code int // newest version this build knows
}

// Error says which side is newer and what to do.
func (e *SchemaVersionError) Error() string {
	if e.File > e.Code {
		return fmt.Sprintf("open ledger %s: schema version %d is newer than version %d this payrun knows: upgrade payrun", e.Path, e.File, e.Code)
	}
	return fmt.Sprintf("open ledger %s: schema version %d is older than version %d: open it read-write once to migrate", e.Path, e.File, e.Code)
}

// Is matches ErrNewerSchema or ErrOlderSchema.
func (e *SchemaVersionError) Is(target error) bool {
	if e.File > e.Code {
		return target == ErrNewerSchema
	}
	return target == ErrOlderSchema
}

// LockedError is returned, matching ErrLocked, by Lock when another live
// process holds the ledger. It names that process.
type LockedError struct {
	Path     string    // the ledger file
	LockFile string    // the sidecar lock file
	Owner    LockOwner // as recorded by the holder; zero if it had not written yet
}

// Error names the lock's holder, as far as it is known.
func (e *LockedError) Error() string {
	o := e.Owner
	if o.PID == 0 {
		return fmt.Sprintf("ledger %s is locked by another process", e.Path)
	}
	s := fmt.Sprintf("ledger %s is locked by pid %d on host %s since %s", e.Path, o.PID, o.Host, o.Started.UTC().Format(time.RFC3339))
	if o.Command != "" {
		s += " (" + o.Command + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
