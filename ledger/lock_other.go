//go:build !unix

package ledger

import (
	"errors"
	"os"
)

// errNoLock: payrun's ledger lock needs flock(2), found on unix systems only.
var errNoLock = errors.New("ledger locking is not supported on this system")

func tryLock(f *os.File) (bool, error) { return false, errNoLock }

func unlock(f *os.File) error { return errNoLock }
