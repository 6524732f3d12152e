package runlease

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/ledger"
)

// DefaultLease is how long a runner's row claims and run lease stay its
// own without a renewal, unless configured (payrun run --claim-lease,
// console.Config.ClaimLease): a dead runner's rows are taken over, and its
// run reads as interrupted, this long after it died.
const DefaultLease = 30 * time.Second

// Name names a runner in its row claims and run lease: host, pid and a
// random part, so a restarted process with a reused pid is another
// claimant.
func Name() string {
	host, _ := os.Hostname()
	return NameOn(host)
}

// NameOn is Name for a host known by another name (the inbox's
// PAYRUN_HOST): host, pid and a random part.
func NameOn(host string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// Hold records, on a PostgreSQL ledger, that runner owner works on run
// runID, and renews the record every third of lease until the returned
// func ends it (call it once, when the run is over). A renewal that fails
// is logged and retried: the run goes on, as its row claims decide who
// pays what.
func Hold(ctx context.Context, l *ledger.Ledger, log zerolog.Logger, owner string, runID int64, command string, lease time.Duration) (func(), error) {
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
