package results

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/payrun/payrun/internal/dirsync"
)

// AtomicFile is a file written under a temporary name in its final directory
// and renamed over the final name only once complete and on disk, so a crash
// never leaves half a workbook under the name finance opens.
type AtomicFile struct {
	*os.File
	final string
	mode  os.FileMode
	done  bool
}

// DefaultFileMode is the permissions of every file payrun writes with
// payees' data in it (results, plans, confirmations, history, wallets):
// the ledger's, readable by its owner only.
const DefaultFileMode os.FileMode = 0o600

// CreateAtomic starts writing path, which gets DefaultFileMode.
func CreateAtomic(path string) (*AtomicFile, error) { return CreateAtomicMode(path, 0) }

// CreateAtomicMode starts writing path, which gets mode (0 for
// DefaultFileMode). The temporary file is created 0600 and takes the mode
// before the rename, so the final name never has wider permissions than
// asked, not even for a moment.
func CreateAtomicMode(path string, mode os.FileMode) (*AtomicFile, error) {
	if mode == 0 {
		mode = DefaultFileMode
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create results file: %w", err)
	}
	return &AtomicFile{File: f, final: path, mode: mode.Perm()}, nil
}

// Commit flushes the file to disk, renames it to its final name and flushes
// the directory so the rename itself survives a power cut.
func (a *AtomicFile) Commit() error {
	if err := a.Sync(); err != nil {
		a.Abort()
		return fmt.Errorf("sync results file: %w", err)
	}
	if err := a.Chmod(a.mode); err != nil {
		a.Abort()
		return fmt.Errorf("chmod results file: %w", err)
	}
	if err := a.Close(); err != nil {
		a.Abort()
		return fmt.Errorf("close results file: %w", err)
	}
	if err := os.Rename(a.Name(), a.final); err != nil {
		a.Abort()
		return fmt.Errorf("rename results file: %w", err)
	}
	a.done = true
	return syncDir(filepath.Dir(a.final))
}

// Abort removes the temporary file; it is a no-op after Commit.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	_ = a.Close()
	_ = os.Remove(a.Name())
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	if err := dirsync.Dir(dir); err != nil {
		return fmt.Errorf("sync results directory: %w", err)
	}
	return nil
}

// WriteAtomic writes path through fn atomically, with DefaultFileMode.
func WriteAtomic(path string, fn func(w io.Writer) error) error {
	return WriteAtomicMode(path, 0, fn)
}

// WriteAtomicMode writes path through fn atomically, with mode (0 for
// DefaultFileMode).
func WriteAtomicMode(path string, mode os.FileMode, fn func(w io.Writer) error) error {
	a, err := CreateAtomicMode(path, mode)
	if err != nil {
		return err
	}
	if err := fn(a); err != nil {
		a.Abort()
		return err
	}
	return a.Commit()
}

// SameFile reports whether a and b are both existing paths to one file.
func SameFile(a, b string) bool {
	ai, err := os.Stat(a)
	if err != nil {
		return false
	}
	bi, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(ai, bi)
}
