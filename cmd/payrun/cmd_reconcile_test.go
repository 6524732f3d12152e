package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	// A ledger in the test's own directory: a --sandbox command without
	// --ledger would otherwise keep payrun-sandbox.db (and the sandbox's
	// state beside it) in the package directory.
	ledgerPath := filepath.Join(t.TempDir(), "payrun-sandbox.db")
	getenv := func(k string) string {
		if k == "PAYRUN_LEDGER" {
			return ledgerPath
		}
		return ""
	}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: getenv}
	return ExitCode(m.Run(context.Background(), args)), out.String(), errb.String()
}

func TestReconcileFamilyUsage(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, args := range [][]string{
		{"reconcile", "--sandbox", "--ledger", missing},
		{"webhook", "--ledger", missing},
		{"confirmations", "--sandbox", "--ledger", missing},
		{"history", "--sandbox", "--from", "2025-03-31", "--to", "2025-03-01"},
	} {
		if code, _, _ := runMain(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("a missing ledger was created")
	}
}

func TestHistoryCommandWritesFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "h.csv")
	code, stdout, stderr := runMain(t, "history", "--sandbox", "--from", "2025-03-01", "--to", "2025-03-31", "--out", out)
	if code != ExitOK {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.HasPrefix(string(b), "time_of_txn,type,token") {
		t.Fatalf("%q %v", b, err)
	}
}
