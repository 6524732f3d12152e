package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sheet leases let `payrun inbox` on several hosts share one ledger (issue
// 22): before paying a sheet an inbox takes the sheet's lease, keyed by the
// sheet's content, in one compare-and-set statement, so of two inboxes
// racing on one sheet (one shared folder, or a copy of the sheet on each
// host) exactly one takes it and the other leaves it for its next tick. The
// holder renews the lease while the sheet runs; a host that died stops
// renewing, its lease lapses, and the next inbox to look takes the sheet
// over (its run resumes the dead host's rows as after a crash). Every take
// raises the lease's generation, and renewals and releases are
// compare-and-set on it: a holder that stalled past its lease and was
// taken over learns it (ErrSheetLeaseLost) instead of renewing or
// releasing the new holder's lease.

// ErrSheetLeaseLost means a sheet lease is no longer the caller's: it
// lapsed and another inbox took the sheet (or it was released).
var ErrSheetLeaseLost = errors.New("sheet lease lost")

// SheetLease is an inbox's hold on one sheet.
type SheetLease struct {
	Key   string    // the sheet's content key
	Sheet string    // the sheet's name, for messages
	Owner string    // who holds it (host/pid/random); "" when no one
	Gen   int64     // fencing generation: one more at every take
	Until time.Time // when it lapses unless renewed
}

// TakeSheetLease takes the lease on the sheet with content key for owner,
// for the given length, if no one holds it or its holder's lease lapsed.
// It reports whether owner took it; when not, the lease returned is the
// current holder's. The take is one INSERT ... ON CONFLICT DO UPDATE ...
// WHERE statement: the database serializes two takes of one key, and the
// second sees the first's lease, so two inboxes never both take a sheet.
func (l *Ledger) TakeSheetLease(ctx context.Context, key, sheet, owner string, lease time.Duration) (SheetLease, bool, error) {
	if key == "" || owner == "" || lease <= 0 {
		return SheetLease{}, false, fmt.Errorf("take sheet lease: key %q, owner %q, lease %v", key, owner, lease)
	}
	now := l.now()
	until := now.Add(lease)
	var (
		gen   int64
		taken bool
	)
	err := l.write(ctx, false, func(tx *wtx) error {
		err := tx.queryRow(`INSERT INTO sheet_leases (sheet_key, sheet_name, lease_owner, lease_until, gen, taken_at)
			VALUES (?, ?, ?, ?, 1, ?)
			ON CONFLICT (sheet_key) DO UPDATE SET sheet_name = excluded.sheet_name, lease_owner = excluded.lease_owner,
				lease_until = excluded.lease_until, gen = sheet_leases.gen + 1, taken_at = excluded.taken_at
			WHERE sheet_leases.lease_owner = '' OR sheet_leases.lease_until < excluded.taken_at
			RETURNING gen`, key, sheet, owner, formatTime(until), formatTime(now)).Scan(&gen)
		taken = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			return nil // held by someone else: read below
		}
		return err
	})
	if err != nil {
		return SheetLease{}, false, fmt.Errorf("take lease on sheet %s: %w", sheet, err)
	}
	if taken {
		return SheetLease{Key: key, Sheet: sheet, Owner: owner, Gen: gen, Until: until}, true, nil
	}
	cur, err := l.SheetLeaseOf(ctx, key)
	if err != nil {
		return SheetLease{}, false, fmt.Errorf("take lease on sheet %s: %w", sheet, err)
	}
	return cur, false, nil
}

// RenewSheetLease extends lease s to now + lease, if it is still s (the
// same owner and generation): a lapsed lease no one took yet is renewed
// too. Otherwise it returns an error matching ErrSheetLeaseLost and
// changes nothing.
func (l *Ledger) RenewSheetLease(ctx context.Context, s SheetLease, lease time.Duration) (SheetLease, error) {
	until := l.now().Add(lease)
	n, err := l.casSheetLease(ctx, s, `UPDATE sheet_leases SET lease_until = ?
		WHERE sheet_key = ? AND lease_owner = ? AND gen = ?`, formatTime(until), s.Key, s.Owner, s.Gen)
	if err != nil {
		return s, fmt.Errorf("renew lease on sheet %s: %w", s.Sheet, err)
	}
	if n == 0 {
		return s, fmt.Errorf("renew lease on sheet %s (generation %d): %w", s.Sheet, s.Gen, ErrSheetLeaseLost)
	}
	s.Until = until
	return s, nil
}

// ReleaseSheetLease gives lease s up, if it is still s, so any inbox may
// take the sheet at once; a lease lost meanwhile returns an error matching
// ErrSheetLeaseLost. The row stays, keeping its generation: a later take
// goes on from it, so an old holder's generation never comes back.
func (l *Ledger) ReleaseSheetLease(ctx context.Context, s SheetLease) error {
	n, err := l.casSheetLease(ctx, s, `UPDATE sheet_leases SET lease_owner = '', lease_until = ''
		WHERE sheet_key = ? AND lease_owner = ? AND gen = ?`, s.Key, s.Owner, s.Gen)
	if err != nil {
		return fmt.Errorf("release lease on sheet %s: %w", s.Sheet, err)
	}
	if n == 0 {
		return fmt.Errorf("release lease on sheet %s (generation %d): %w", s.Sheet, s.Gen, ErrSheetLeaseLost)
	}
	return nil
}

// casSheetLease runs a compare-and-set statement on a sheet lease and
// returns how many rows it changed.
func (l *Ledger) casSheetLease(ctx context.Context, s SheetLease, q string, args ...any) (int64, error) {
	if s.Key == "" || s.Owner == "" {
		return 0, fmt.Errorf("no lease held (key %q, owner %q)", s.Key, s.Owner)
	}
	var n int64
	err := l.write(ctx, false, func(tx *wtx) error {
		res, err := tx.exec(q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// SheetLeaseOf returns the lease on the sheet with content key as it
// stands: Owner "" when no one holds it (never taken, or released). A
// lease whose Until has passed is lapsed: the next take wins it.
func (l *Ledger) SheetLeaseOf(ctx context.Context, key string) (SheetLease, error) {
	var (
		s     = SheetLease{Key: key}
		until string
	)
	err := l.rqRow(ctx, `SELECT sheet_name, lease_owner, lease_until, gen FROM sheet_leases WHERE sheet_key = ?`, key).
		Scan(&s.Sheet, &s.Owner, &until, &s.Gen)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("read sheet lease: %w", err)
	}
	if until != "" {
		t, err := parseTime(sql.NullString{String: until, Valid: true})
		if err != nil {
			return s, fmt.Errorf("read sheet lease: %w", err)
		}
		s.Until = t
	}
	return s, nil
}
