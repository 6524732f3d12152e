package dirsync

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestDir: a directory that exists syncs; one that does not is an error
// (on Windows, where Dir does nothing, both are nil).
func TestDir(t *testing.T) {
	dir := t.TempDir()
	if err := Dir(dir); err != nil {
		t.Fatalf("sync %s: %v", dir, err)
	}
	if err := Dir(filepath.Join(dir, "missing")); err == nil && runtime.GOOS != "windows" {
		t.Fatal("sync of a missing directory succeeded")
	}
}
