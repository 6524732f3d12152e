//go:build !unix

package flock

import "os"

// TryLock fails with ErrUnsupported: flock(2) exists on unix systems only.
func TryLock(f *os.File) (bool, error) { return false, ErrUnsupported }

// Unlock fails with ErrUnsupported.
func Unlock(f *os.File) error { return ErrUnsupported }
