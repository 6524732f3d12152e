package batch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Test rigs the batch tests share with batch/ingest's (test files cannot be
// imported across packages, so these few are kept in both).

// testNow is the validation clock of the tests.
var testNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// writeFile writes content to a file named name in a fresh temp dir.
func writeFile(t testing.TB, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
