package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
)

func TestOpenCreatesPrivateWALFile(t *testing.T) {
	l, path := openTemp(t)
	run := beginRun(t, l)
	upsert(t, l, run.ID, input("a", 2, "10.00"))
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("ledger mode = %v, want 0600", fi.Mode().Perm())
	}
	db := rawDB(t, path)
	var mode string
	var version int
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || version != ledger.SchemaVersion {
		t.Errorf("journal_mode = %q, user_version = %d; want wal, %d", mode, version, ledger.SchemaVersion)
	}
	if l.Path() != path {
		t.Errorf("Path() = %q, want %q", l.Path(), path)
	}
}

func TestOpenReopensKeepingData(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l, path := b.openTemp(t)
		run := beginRun(t, l)
		if run.ID != 1 || run.Status != ledger.RunRunning {
			t.Errorf("first run = %+v", run)
		}
		// Reopening an up-to-date file runs nothing and keeps the data. (An
		// empty file is no longer migrated as new: TestOpenRefusesEmptyLedgerFile.)
		l.Close()
		l2 := openAt(t, path)
		got, err := l2.Run(context.Background(), run.ID)
		if err != nil || got.SheetName != "march.xlsx" {
			t.Errorf("Run after reopen = %+v, %v", got, err)
		}
	})
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	l, path := openTemp(t)
	l.Close()
	newer := ledger.SchemaVersion + 7
	if _, err := rawDB(t, path).Exec(fmt.Sprintf("PRAGMA user_version = %d", newer)); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := ledger.Open(context.Background(), path, ledger.Options{ReadOnly: ro})
		if !errors.Is(err, ledger.ErrNewerSchema) {
			t.Fatalf("Open(ReadOnly=%v) = %v, want ErrNewerSchema", ro, err)
		}
		for _, v := range []int{newer, ledger.SchemaVersion} {
			if !strings.Contains(err.Error(), fmt.Sprint(v)) {
				t.Errorf("error %q does not name version %d", err, v)
			}
		}
	}
}

func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	_, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "missing.ledger"), ledger.Options{ReadOnly: true})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadOnly open of a missing file = %v, want ErrNotExist", err)
	}
	l, path := openTemp(t)
	run := beginRun(t, l)
	upsert(t, l, run.ID, input("a", 2, "10.00"))

	ro, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if r, err := ro.Row(ctx, "a"); err != nil || r.State != ledger.StateNew {
		t.Errorf("Row on read-only = %+v, %v", r, err)
	}
	if _, err := ro.BeginRun(ctx, ledger.RunInfo{}); !errors.Is(err, ledger.ErrReadOnly) {
		t.Errorf("BeginRun on read-only = %v, want ErrReadOnly", err)
	}
	if _, err := ro.Transition(ctx, "a", ledger.StateNew, ledger.StateUserReady, ledger.RowUpdate{}, ledger.Event{}); !errors.Is(err, ledger.ErrReadOnly) {
		t.Errorf("Transition on read-only = %v, want ErrReadOnly", err)
	}
}

func TestClosedLedgerRefusesWrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l, _ := b.openTemp(t)
		l.Close()
		if _, err := l.BeginRun(context.Background(), ledger.RunInfo{}); !errors.Is(err, ledger.ErrClosed) {
			t.Errorf("BeginRun after Close = %v, want ErrClosed", err)
		}
	})
}

// A ledger file that exists but is empty (truncated, or its content lost in
// a copy) is a lost ledger, not a new one: opening it as new would forget
// every payment and pay the sheet again.
func TestOpenRefusesEmptyLedgerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payrun.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		l, err := ledger.Open(context.Background(), path, ledger.Options{ReadOnly: ro})
		if !errors.Is(err, ledger.ErrEmptyLedger) {
			if l != nil {
				l.Close()
			}
			t.Fatalf("Open(ReadOnly %v) of a 0-byte file = %v, want ErrEmptyLedger", ro, err)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("error %q does not name the file", err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Errorf("the empty file was changed: %v, %v", fi, err)
	}
}

// A payrun killed while it creates a new ledger leaves no ledger behind: the
// next run creates it afresh. Before, the 0-byte file made by the first
// step of creation stayed, and every later run stopped with "ledger file is
// empty" (exit 3) until someone removed it by hand.
func TestKilledWhileCreatingLeavesNoEmptyLedger(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("fault points end the process with TerminateProcess; the child protocol here is unix-only")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "payrun.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=create", envPath+"="+path, faultpoint.EnvKill+"=ledger.create@1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("child was not killed at ledger.create: %v\n%s", err, out)
	}
	l, err := ledger.Open(context.Background(), path, ledger.Options{})
	if err != nil {
		t.Fatalf("open after a kill during creation: %v", err)
	}
	defer l.Close()
	if _, err := l.BeginRun(context.Background(), ledger.RunInfo{SheetName: "june.csv"}); err != nil {
		t.Fatalf("the recreated ledger does not work: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("recreated ledger mode = %v, %v; want 0600", fi, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".creating") {
			t.Errorf("a half-created ledger %s is left in the folder", e.Name())
		}
	}
}
