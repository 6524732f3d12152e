//go:build unix || windows

package flock_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/ledger/flock"
)

// TestTryLock: two opens of one file, as two processes would have; only one
// holds the lock at a time, and closing the holder frees it.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	if held, err := flock.TryLock(a); !held || err != nil {
		t.Fatalf("first lock: held %v, %v", held, err)
	}
	if held, err := flock.TryLock(b); held || err != nil {
		t.Fatalf("second lock while the first holds: held %v, %v", held, err)
	}
	if err := flock.Unlock(a); err != nil {
		t.Fatal(err)
	}
	if held, err := flock.TryLock(b); !held || err != nil {
		t.Fatalf("after unlock: held %v, %v", held, err)
	}
	a.Close()
	b.Close() // closing drops the lock, as a dying process does
	c := open()
	if held, err := flock.TryLock(c); !held || err != nil {
		t.Fatalf("after the holder closed: held %v, %v", held, err)
	}
}
