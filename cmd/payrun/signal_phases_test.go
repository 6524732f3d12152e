package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A signal that arrives while the sheet is being checked ends payrun run at
// once with exit 3: it neither goes on to open (and create) the ledger nor
// pays. Validation used to ignore it and run to its end.
func TestRunHonoursSignalWhileValidating(t *testing.T) {
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheet, runSheetRows("SIG", 3))
	ledgerPath := filepath.Join(dir, "payrun.db")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // SIGTERM already arrived
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err := m.Run(ctx, []string{"run", "--sandbox", "--yes", "--ledger", ledgerPath, sheet})
	if code := ExitCode(err); code != ExitAborted {
		t.Errorf("exit %d (%v), want %d", code, err, ExitAborted)
	}
	if _, err := os.Stat(ledgerPath); err == nil {
		t.Errorf("the ledger was created after the signal")
	}
}
