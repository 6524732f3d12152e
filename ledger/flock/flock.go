// Package flock takes and drops whole-file advisory locks, which the
// operating system drops by itself when the process dies: a crashed payrun
// never leaves a ledger or an inbox locked. The ledger's writer lock and the
// inbox's folder lock both use it.
//
// On unix it is flock(2). On Windows it is LockFileEx on one byte far past
// the end of any real file (offset 2^62): Windows locks are mandatory, so a
// lock on bytes a reader needs would stop SQLite from reading the ledger
// and a refused process from reading the owner recorded in the lock file.
// Like flock, a Windows lock belongs to one open file (handle), is never
// waited for, and is dropped when the file is closed or the process ends
// (Windows may take a moment to drop it after a crash). Elsewhere (plan9,
// js, wasip1) TryLock fails with ErrUnsupported and payrun refuses to lock
// a ledger rather than run unguarded.
package flock

import "errors"

// ErrUnsupported is returned where the system has no file locks payrun
// knows how to take (neither unix nor Windows).
var ErrUnsupported = errors.New("file locking is not supported on this system")
