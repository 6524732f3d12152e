package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/ledger"
)

// inboxLeaseCommand starts the command of a run lease held by an inbox's
// run: the inbox's probe leaves those to the sheet leases.
const inboxLeaseCommand = "payrun inbox "

// holdRunLease records, on a PostgreSQL ledger, that this runner (owner)
// works on run runID, and renews the record every third of lease until the
// returned func ends it: a run there holds no ledger lock, and this is how
// payrun autopay apply and the inbox's probe see it in progress
// (ledger.LiveRunLeases). A renewal that fails is logged and retried: the
// run goes on, as its row claims decide who pays what.
func holdRunLease(ctx context.Context, l *ledger.Ledger, log zerolog.Logger, owner string, runID int64, command string, lease time.Duration) (func(), error) {
	if err := l.HoldRunLease(ctx, owner, runID, command, lease); err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if _, err := l.RenewRunLease(context.WithoutCancel(ctx), owner, lease); err != nil {
				log.Warn().Err(err).Msg("renew run lease; payrun autopay apply may not see this run meanwhile")
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		if err := l.EndRunLease(context.WithoutCancel(ctx), owner); err != nil {
			log.Warn().Err(err).Msg("end run lease; it lapses by itself")
		}
	}, nil
}

// runInProgress returns an ExitError (exit 3) naming the first run in
// progress on a PostgreSQL ledger, other than inbox runs when skipInbox,
// or nil when there is none. advice ends the message.
func runInProgress(ctx context.Context, l *ledger.Ledger, path string, skipInbox bool, advice string) error {
	if !l.Postgres() {
		return nil
	}
	live, err := l.LiveRunLeases(ctx)
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: err}
	}
	for _, r := range live {
		if skipInbox && strings.HasPrefix(r.Command, inboxLeaseCommand) {
			continue
		}
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("ledger %s has a run in progress: run %d, %s, by %s since %s; %s",
			ledger.Redact(path), r.RunID, r.Command, r.Owner, r.Started.Local().Format("2006-01-02 15:04:05"), advice)}
	}
	return nil
}
