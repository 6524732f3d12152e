package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Run leases make a run in progress on a PostgreSQL ledger visible (issue
// 22). On SQLite a run holds the ledger Lock, and whatever must not run
// beside it (payrun autopay apply, the inbox's probe) finds the Lock held.
// On PostgreSQL payrun run holds no Lock, several runners sharing a run
// through row claims, and row claims come and go with the rows a runner
// works. So each runner records itself under a lease it renews while it
// runs and deletes when it ends; a runner that died stops renewing, and
// its lease lapses and counts for nothing.

// RunLease is a runner's record that it is working on a run.
type RunLease struct {
	Owner   string // the runner (its claim owner: host/pid/random)
	RunID   int64
	Command string // what it runs, for messages ("payrun run june.xlsx")
	Started time.Time
	Until   time.Time // when it lapses unless renewed
}

// HoldRunLease records that owner works on run runID, running command,
// until now + lease; it replaces owner's earlier lease. Leases lapsed for
// a day (runners that died) are swept meanwhile.
func (l *Ledger) HoldRunLease(ctx context.Context, owner string, runID int64, command string, lease time.Duration) error {
	if owner == "" || runID <= 0 || lease <= 0 {
		return fmt.Errorf("hold run lease: owner %q, run %d, lease %v", owner, runID, lease)
	}
	now := l.now()
	err := l.write(ctx, false, func(tx *wtx) error {
		if _, err := tx.exec(`DELETE FROM run_leases WHERE lease_until < ?`, formatTime(now.Add(-24*time.Hour))); err != nil {
			return err
		}
		_, err := tx.exec(`INSERT INTO run_leases (owner, run_id, command, started_at, lease_until) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (owner) DO UPDATE SET run_id = excluded.run_id, command = excluded.command,
				started_at = excluded.started_at, lease_until = excluded.lease_until`,
			owner, runID, command, formatTime(now), formatTime(now.Add(lease)))
		return err
	})
	if err != nil {
		return fmt.Errorf("hold run lease for run %d: %w", runID, err)
	}
	return nil
}

// RenewRunLease extends owner's run lease to now + lease. It reports
// whether owner had one to renew.
func (l *Ledger) RenewRunLease(ctx context.Context, owner string, lease time.Duration) (bool, error) {
	var n int64
	err := l.write(ctx, false, func(tx *wtx) error {
		res, err := tx.exec(`UPDATE run_leases SET lease_until = ? WHERE owner = ?`, formatTime(l.now().Add(lease)), owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("renew run lease of %q: %w", owner, err)
	}
	return n > 0, nil
}

// EndRunLease deletes owner's run lease: its run is over, here.
func (l *Ledger) EndRunLease(ctx context.Context, owner string) error {
	err := l.write(ctx, false, func(tx *wtx) error {
		_, err := tx.exec(`DELETE FROM run_leases WHERE owner = ?`, owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("end run lease of %q: %w", owner, err)
	}
	return nil
}

// LiveRunLeases returns the run leases not lapsed, oldest first: the
// runners at work on the ledger now.
func (l *Ledger) LiveRunLeases(ctx context.Context) ([]RunLease, error) {
	rs, err := l.rq(ctx, `SELECT owner, run_id, command, started_at, lease_until FROM run_leases
		WHERE lease_until >= ? ORDER BY started_at, owner`, formatTime(l.now()))
	if err != nil {
		return nil, fmt.Errorf("list run leases: %w", err)
	}
	defer rs.Close()
	var out []RunLease
	for rs.Next() {
		var (
			r             RunLease
			started, till string
		)
		if err := rs.Scan(&r.Owner, &r.RunID, &r.Command, &started, &till); err != nil {
			return nil, fmt.Errorf("list run leases: %w", err)
		}
		if r.Started, err = parseTime(sql.NullString{String: started, Valid: true}); err != nil {
			return nil, fmt.Errorf("list run leases: %w", err)
		}
		if r.Until, err = parseTime(sql.NullString{String: till, Valid: true}); err != nil {
			return nil, fmt.Errorf("list run leases: %w", err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list run leases: %w", err)
	}
	return out, nil
}
