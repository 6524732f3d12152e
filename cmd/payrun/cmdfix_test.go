package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/masspay/sandbox"
)

// TestRefusedInboxTickCreatesNoLedger: an inbox tick refused for want of an
// API key, or for a key MassPay refuses, creates no ledger file in the
// inbox and leaves its sheet in incoming/ for the tick after the fix (never
// filed as failed: the sheet is not at fault).
func TestRefusedInboxTickCreatesNoLedger(t *testing.T) {
	srv, err := sandbox.Start(sandbox.Config{APIKey: "sk_test_right"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		env   map[string]string
		sheet bool
		code  int
	}{
		{"no key, empty inbox", map[string]string{"MASSPAY_ENV": "staging"}, false, ExitUsage},
		{"no key, a sheet", map[string]string{"MASSPAY_ENV": "staging"}, true, ExitUsage},
		{"key refused, empty inbox", map[string]string{"MASSPAY_API_KEY": "sk_test_wrong", "MASSPAY_BASE_URL": srv.URL()}, false, ExitAborted},
		{"key refused, a sheet", map[string]string{"MASSPAY_API_KEY": "sk_test_wrong", "MASSPAY_BASE_URL": srv.URL()}, true, ExitAborted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			box := t.TempDir()
			for _, sub := range inboxFolders {
				os.MkdirAll(filepath.Join(box, sub), 0o750)
			}
			if tc.sheet {
				writeSheet(t, filepath.Join(box, "incoming", "a.csv"), "IBX", 1, 2)
			}
			code, out, errs := runIn(t, tc.env, "inbox", "--once", "--settle", "10ms", box)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			files := tree(t, box)
			for _, f := range files {
				if strings.HasPrefix(filepath.Base(f), "payrun") && strings.Contains(f, ".db") {
					t.Errorf("a refused inbox tick created %s (all: %v)", f, files)
				}
			}
			if tc.sheet && !matchAny("incoming/a.csv", files) {
				t.Errorf("the sheet left incoming/: %v", files)
			}
		})
	}
}
