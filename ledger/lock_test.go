package ledger_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, path := b.openTemp(t)
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
	})
}

// A second run reaching the ledger through another name for the same file
// (a symlink, a hard link; a bind mount is the same case as the hard link)
// must find it locked: the lock is keyed on the file, not on its name.
func TestLockSeesThroughSymlinkAndHardLink(t *testing.T) {
	ctx := context.Background()
	_, path := openTemp(t)
	dir := t.TempDir()
	sym := filepath.Join(dir, "via-symlink.ledger")
	hard := filepath.Join(dir, "via-hardlink.ledger")
	if err := os.Symlink(path, sym); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, hard); err != nil {
		t.Skipf("no hard links here: %v", err)
	}
	_, out := startChild(t, "lock", path)
	if !out.Scan() || out.Text() != "locked" {
		t.Fatalf("child said %q", out.Text())
	}
	for _, p := range []string{sym, hard} {
		// Read-write, as payrun run opens it before taking the lock.
		l, err := ledger.Open(ctx, p, ledger.Options{})
		if err != nil && p == hard {
			// SQLite itself may refuse a second name for a WAL file in
			// use (its -wal and -shm go by name): refused either way.
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		lk, err := l.Lock(ctx, ledger.LockOwner{})
		if !errors.Is(err, ledger.ErrLocked) {
			t.Errorf("Lock through %s while the child holds %s = %v, want ErrLocked", filepath.Base(p), path, err)
		}
		if lk != nil {
			lk.Release()
		}
		l.Close()
	}
}

// The same within one process, through a symlink.
func TestLockSeesThroughSymlinkInProcess(t *testing.T) {
	ctx := context.Background()
	l, path := openTemp(t)
	lk, err := l.Lock(ctx, ledger.LockOwner{Command: "first"})
	if err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(t.TempDir(), "link.ledger")
	if err := os.Symlink(path, sym); err != nil {
		t.Fatal(err)
	}
	other, err := ledger.Open(ctx, sym, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Lock(ctx, ledger.LockOwner{}); !errors.Is(err, ledger.ErrLocked) {
		t.Fatalf("Lock through a symlink = %v, want ErrLocked", err)
	}
	lk.Release()
	lk2, err := other.Lock(ctx, ledger.LockOwner{})
	if err != nil {
		t.Fatalf("Lock through the symlink after Release = %v", err)
	}
	lk2.Release()
}

// LockHeld reads whether the Lock is held without keeping it: free on a
// new ledger, held while a Lock (of this process or another handle) is,
// free again once released, and a probe never stops the next Lock.
func TestLockHeldProbe(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		loc := b.location(t)
		l := openWithClock(t, loc, time.Now)
		other := openWithClock(t, loc, time.Now)
		if held, err := l.LockHeld(ctx); held || err != nil {
			t.Fatalf("new ledger: held %v, %v", held, err)
		}
		lk, err := other.Lock(ctx, ledger.LockOwner{Command: "payrun run june.xlsx"})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []*ledger.Ledger{l, other} {
			if held, err := h.LockHeld(ctx); !held || err != nil {
				t.Fatalf("while locked: held %v, %v", held, err)
			}
		}
		if err := lk.Release(); err != nil {
			t.Fatal(err)
		}
		if held, err := l.LockHeld(ctx); held || err != nil {
			t.Fatalf("after release: held %v, %v", held, err)
		}
		lk, err = l.Lock(ctx, ledger.LockOwner{})
		if err != nil {
			t.Fatalf("lock after a probe: %v", err)
		}
		lk.Release()
	})
}
