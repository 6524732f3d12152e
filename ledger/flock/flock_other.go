//go:build !unix && !windows

package flock

import "os"

// TryLock fails with ErrUnsupported: file locks are implemented for unix
// (flock) and Windows (LockFileEx) only.
func TryLock(f *os.File) (bool, error) { return false, ErrUnsupported }

// Unlock fails with ErrUnsupported.
func Unlock(f *os.File) error { return ErrUnsupported }
