package ledger_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

func TestLockHeldByLiveThenDeadProcess(t *testing.T) {
	ctx := context.Background()
	l, path := openTemp(t)
	cmd, out := startChild(t, "lock", path)
	if !out.Scan() || out.Text() != "locked" {
		t.Fatalf("child said %q", out.Text())
	}
	_, err := l.Lock(ctx, ledger.LockOwner{})
	var le *ledger.LockedError
	if !errors.As(err, &le) || !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("Lock while child holds it = %v, want *LockedError", err)
	}
	host, _ := os.Hostname()
	if le.Owner.PID != cmd.Process.Pid || le.Owner.Host != host || le.Owner.Started.IsZero() ||
		le.Owner.Command != "payrun run child.csv" {
		t.Errorf("LockedError owner = %+v, child pid %d", le.Owner, cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) || !strings.Contains(err.Error(), host) {
		t.Errorf("message %q does not name pid and host", err)
	}

	cmd.Process.Kill()
	cmd.Wait()
	lk, err := l.Lock(ctx, ledger.LockOwner{Command: "payrun run again.csv"})
	if err != nil {
		t.Fatalf("Lock after the holder died = %v", err)
	}
	if p := lk.Previous(); p == nil || p.PID != cmd.Process.Pid {
		t.Errorf("Previous = %+v, want the dead child %d", p, cmd.Process.Pid)
	}
	if lk.Owner().PID != os.Getpid() {
		t.Errorf("Owner = %+v", lk.Owner())
	}
	if err := lk.Release(); err != nil {
		t.Fatal(err)
	}
	if err := lk.Release(); err != nil {
		t.Errorf("second Release = %v", err)
	}
	lk, err = l.Lock(ctx, ledger.LockOwner{})
	if err != nil || lk.Previous() != nil {
		t.Fatalf("Lock after a clean release = %+v, %v", lk, err)
	}
	defer lk.Release()
	if fi, err := os.Stat(ledger.LockPath(path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v", fi, err)
	}
}

func TestLockRefusesSecondHolderInProcess(t *testing.T) {
	ctx := context.Background()
	l, path := openTemp(t)
	lk, err := l.Lock(ctx, ledger.LockOwner{Command: "first"})
	if err != nil {
		t.Fatal(err)
	}
	// A second handle on the same file, as a second payrun would have.
	other, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Lock(ctx, ledger.LockOwner{})
	var le *ledger.LockedError
	if !errors.As(err, &le) || le.Owner.Command != "first" {
		t.Fatalf("second Lock = %v", err)
	}
	lk.Release()
	lk2, err := other.Lock(ctx, ledger.LockOwner{})
	if err != nil {
		t.Fatalf("Lock after Release = %v", err)
	}
	lk2.Release()
}
