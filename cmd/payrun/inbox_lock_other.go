//go:build !unix

package main

import (
	"errors"
	"os"
)

// tryFlock: the inbox lock needs flock(2), found on unix systems only.
func tryFlock(f *os.File) (bool, error) {
	return false, errors.New("payrun inbox needs flock, found on unix systems only")
}
