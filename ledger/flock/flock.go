// Package flock takes and drops whole-file advisory locks (flock(2)), which
// the kernel drops by itself when the process dies: a crashed payrun never
// leaves a ledger or an inbox locked. The ledger's writer lock and the
// inbox's folder lock both use it.
package flock

import "errors"

// ErrUnsupported is returned where flock(2) does not exist (non-unix).
var ErrUnsupported = errors.New("file locking (flock) is not supported on this system")
