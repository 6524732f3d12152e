package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/payrun/payrun/ledger"
)

// inboxLeaseCommand starts the command of a run lease held by an inbox's
// run: the inbox's probe leaves those to the sheet leases.
const inboxLeaseCommand = "payrun inbox "

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
