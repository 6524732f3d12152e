// Package dirsync makes a just-renamed file's name durable: after writing a
// temporary file and renaming it over the real one, the directory that holds
// both must be fsync'd too, or a power cut can bring back the old name.
package dirsync

import (
	"errors"
	"os"
	"runtime"
)

// Dir fsyncs the directory dir. On Windows it does nothing and returns nil:
// a directory there cannot be opened for writing through os, FlushFileBuffers
// on the read-only handle os.Open gives fails with "Access is denied", and
// NTFS journals metadata changes such as the rename. Treating that as an error made every
// atomic write (results workbooks, ledger exports, the sandbox's state file)
// fail on Windows.
func Dir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
