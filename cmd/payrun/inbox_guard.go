package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/flock"
)

// lockInbox takes the folder's inbox lock (DIR/name), or fails at once
// with exit 3 naming the holder.
func lockInbox(dir, name string) (func(), error) {
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &ExitError{Code: ExitAborted, Err: fmt.Errorf("lock inbox: %w", err)}
	}
	held, err := flock.TryLock(f)
	if err != nil {
		f.Close()
		return nil, &ExitError{Code: ExitAborted, Err: fmt.Errorf("lock inbox: %w", err)}
	}
	if !held {
		var o ledger.LockOwner
		b, _ := io.ReadAll(f)
		_ = json.Unmarshal(b, &o)
		f.Close()
		return nil, &ExitError{Code: ExitAborted, Err: fmt.Errorf("inbox %s is in use by pid %d on %s since %s; this run leaves its files untouched",
			dir, o.PID, o.Host, o.Started.Local().Format("2006-01-02 15:04:05"))}
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(ledger.LockOwner{PID: os.Getpid(), Host: host, Started: time.Now().UTC(), Command: "payrun inbox " + dir})
	_ = f.Truncate(0)
	_, _ = f.WriteAt(b, 0)
	return func() { _ = f.Truncate(0); f.Close() }, nil
}

// probeLedger fails with exit 3 when another process (a payrun run by hand)
// holds the ledger, or on PostgreSQL has a run in progress that is not
// another inbox's, before any sheet is touched. A ledger not yet there is
// held by nobody and is left for the first run to create: a tick that pays
// nothing leaves no empty payrun.db behind.
func probeLedger(ctx context.Context, path string) error {
	if err := statLedger(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	defer l.Close()
	lk, err := lockLedger(ctx, l, path, "payrun inbox (probe)", "the inbox leaves its files untouched")
	// On PostgreSQL inboxes on other hosts probe too, each holding the
	// lock a moment: a refusal is tried again for a second before it
	// counts (autopay apply, a ledger migrate, hold it far longer).
	for try := 0; err != nil && l.Postgres() && try < 10 && ctx.Err() == nil; try++ {
		time.Sleep(100 * time.Millisecond)
		lk, err = lockLedger(ctx, l, path, "payrun inbox (probe)", "the inbox leaves its files untouched")
	}
	if err != nil {
		return err
	}
	// On PostgreSQL a run holds no lock: its run lease shows it. Other
	// inboxes' runs are left to the sheet leases.
	return errors.Join(runInProgress(ctx, l, path, true, "the inbox leaves its files untouched"), lk.Release())
}
