package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Per-row claims let several runners share one run on a PostgreSQL ledger
// (issue 22): each takes a few workable rows with SELECT ... FOR UPDATE SKIP
// LOCKED, stamping its name, a lease and a fencing token (claim_gen, one
// more at every claim), renews the lease while it works, and writes every
// transition of a claimed row compare-and-set on that token. A runner that
// stalled past its lease and was taken over therefore cannot write over the
// runner that took over: its Transition fails with a *FencedError. A row
// taken over in flight is resumed as after a crash: its recorded request
// goes out again under the same Idempotency-Key.

// ErrFenced means a Transition carried a claim (WithClaim) that is no
// longer the row's: its lease lapsed and another runner claimed the row.
// Nothing was written; the caller drops the row.
var ErrFenced = errors.New("row claimed by another runner")

// FencedError is returned, matching ErrFenced, when a claimant's
// Transition lost its row to a newer claim.
type FencedError struct {
	ID      string
	Token   int64  // the token the caller held
	Current int64  // the row's token now
	Owner   string // the row's claimant now
}

func (e *FencedError) Error() string {
	return fmt.Sprintf("transition row %q: claim %d lost to %q (claim %d)", e.ID, e.Token, e.Owner, e.Current)
}

// Is makes errors.Is(err, ErrFenced) true.
func (e *FencedError) Is(target error) bool { return target == ErrFenced }

// Claim is a runner's hold on one row: the fencing token its transitions
// carry.
type Claim struct {
	ID    string
	Owner string
	Token int64
	Until time.Time
}

type claimKey struct{}

// WithClaim returns ctx carrying claim c: a Transition of row c.ID under
// it is compare-and-set on the row's fencing token as well as its state.
func WithClaim(ctx context.Context, c Claim) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

// claimFrom returns the claim ctx carries for row id.
func claimFrom(ctx context.Context, id string) (Claim, bool) {
	c, ok := ctx.Value(claimKey{}).(Claim)
	return c, ok && c.ID == id
}

// ClaimedRow is a row handed to a runner by ClaimRows, with its claim.
type ClaimedRow struct {
	Row   Row
	Claim Claim
}

// ClaimRows claims up to n workable rows of run runID for owner, each under
// a lease of the given length: rows in a state the run still has to move
// them out of, that no one holds or whose lease lapsed, leaving out the ids
// in except (rows owner already worked in this pass). Rows locked by a
// concurrent claim are skipped, not waited for. A lapsed claim taken over
// gets a higher token, which fences off its old owner's transitions.
// Claims exist on PostgreSQL only (ErrNotOnPostgres's converse: SQLite is
// one process at a time and has no use for them).
func (l *Ledger) ClaimRows(ctx context.Context, runID int64, owner string, n int, lease time.Duration, except []string) ([]ClaimedRow, error) {
	if !l.pg {
		return nil, errors.New("claim rows: claims need a PostgreSQL ledger")
	}
	if owner == "" || n <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim rows: owner %q, n %d, lease %v", owner, n, lease)
	}
	now := l.now()
	until := now.Add(lease)
	args := []any{owner, formatTime(until), runID}
	states, args := workStatesIn(args)
	args = append(args, formatTime(now))
	notIn := ""
	if len(except) > 0 {
		notIn = ` AND r.client_transfer_id NOT IN (?` + strings.Repeat(", ?", len(except)-1) + `)`
		for _, id := range except {
			args = append(args, id)
		}
	}
	args = append(args, n)
	q := `UPDATE rows SET claim_owner = ?, claim_until = ?, claim_gen = claim_gen + 1
		WHERE client_transfer_id IN (SELECT r.client_transfer_id FROM run_rows m
			CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
			WHERE m.run_id = ? AND r.state IN (` + states + `)
			AND (r.claim_owner = '' OR r.claim_until < ?)` + notIn + `
			ORDER BY m.sheet_line, m.client_transfer_id LIMIT ?
			FOR UPDATE OF r SKIP LOCKED)
		RETURNING ` + rowCols + `, claim_gen`
	var out []ClaimedRow
	err := l.write(ctx, true, func(tx *wtx) error {
		out = out[:0]
		rs, err := tx.query(q, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var gen int64
			row, err := scanRow(withExtra{rs, &gen})
			if err != nil {
				return err
			}
			out = append(out, ClaimedRow{Row: row, Claim: Claim{ID: row.ID, Owner: owner, Token: gen, Until: until}})
		}
		return rs.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim rows of run %d: %w", runID, err)
	}
	return out, nil
}

// withExtra scans a row followed by extra columns.
type withExtra struct {
	s     scanner
	extra any
}

func (w withExtra) Scan(dest ...any) error { return w.s.Scan(append(dest, w.extra)...) }

// RenewClaims extends the lease of every row owner still holds to now +
// lease and returns how many it holds. A row taken over meanwhile is not
// owner's any more and is not renewed.
func (l *Ledger) RenewClaims(ctx context.Context, owner string, lease time.Duration) (int, error) {
	var n int64
	// Only owner's rows: a shared write.
	err := l.writeShared(ctx, func(tx *wtx) error {
		res, err := tx.exec(`UPDATE rows SET claim_until = ? WHERE claim_owner = ?`, formatTime(l.now().Add(lease)), owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("renew claims of %q: %w", owner, err)
	}
	return int(n), nil
}

// ReleaseClaim gives row c.ID up, if c is still its claim: another runner
// may claim it at once.
func (l *Ledger) ReleaseClaim(ctx context.Context, c Claim) error {
	// Only a row c still holds: a shared write.
	err := l.writeShared(ctx, func(tx *wtx) error {
		_, err := tx.exec(`UPDATE rows SET claim_owner = '', claim_until = ''
			WHERE client_transfer_id = ? AND claim_gen = ? AND claim_owner = ?`, c.ID, c.Token, c.Owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("release claim on row %q: %w", c.ID, err)
	}
	return nil
}

// HeldElsewhere counts the rows of run runID still to work, other than the
// ids in except, that a claimant other than owner holds, under a live lease
// or a lapsed one: rows owner must wait for, or take over once they lapse
// (their holder died), before the run is done.
func (l *Ledger) HeldElsewhere(ctx context.Context, runID int64, owner string, except []string) (int, error) {
	args := []any{runID}
	states, args := workStatesIn(args)
	args = append(args, owner)
	notIn := ""
	if len(except) > 0 {
		notIn = ` AND r.client_transfer_id NOT IN (?` + strings.Repeat(", ?", len(except)-1) + `)`
		for _, id := range except {
			args = append(args, id)
		}
	}
	var n int
	err := l.rqRow(ctx, `SELECT count(*) FROM run_rows m
		CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
		WHERE m.run_id = ? AND r.state IN (`+states+`)
		AND r.claim_owner <> '' AND r.claim_owner <> ?`+notIn, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count rows claimed elsewhere in run %d: %w", runID, err)
	}
	return n, nil
}

// fencedOrStale explains a fenced compare-and-set that matched no row:
// the claim lost (FencedError) or the state moved (StaleStateError).
func fencedOrStale(tx *wtx, c Claim, expected State) error {
	var (
		state, owner string
		gen          int64
	)
	err := tx.queryRow(`SELECT state, claim_owner, claim_gen FROM rows WHERE client_transfer_id = ?`, c.ID).Scan(&state, &owner, &gen)
	if err != nil {
		return notFound(err, fmt.Sprintf("transition row %q", c.ID))
	}
	if gen != c.Token || owner != c.Owner {
		return &FencedError{ID: c.ID, Token: c.Token, Current: gen, Owner: owner}
	}
	return &StaleStateError{ID: c.ID, Expected: expected, Actual: State(state)}
}

// postgresOnlyColumns are the columns a PostgreSQL ledger has and a SQLite
// one does not: the claim columns (migration 0010). SQLite never claims (it
// keeps its one-process lock), and adding a column to rows there is not
// constant time: since 3.37 SQLite checks every existing row of a table
// with CHECK constraints when a column is added to it (rows has its state
// CHECK), 5-7 s on a 200,000-row ledger's first open. The copy into
// PostgreSQL leaves them at their defaults.
var postgresOnlyColumns = map[string][]string{"rows": {"claim_owner", "claim_until", "claim_gen"}}

// Postgres reports whether the ledger is a PostgreSQL database, where
// several runners may share a run through claims.
func (l *Ledger) Postgres() bool { return l.pg }

// ClaimedElsewhere returns the ids of run runID's rows still to work that a
// claimant other than owner holds under a live lease: rows another runner
// is paying right now. A runner joining a run leaves them out of its plan
// and balance check: their money may already have left the balance (a
// load sent, a payout committed, the answer not yet recorded), and
// counting them again would refuse a balance that covers what is left. A
// lapsed claim is not counted: its holder died, and this runner may take
// the row over. On SQLite, which never claims, it is always empty.
func (l *Ledger) ClaimedElsewhere(ctx context.Context, runID int64, owner string) (map[string]bool, error) {
	ids := map[string]bool{}
	if !l.pg {
		return ids, nil
	}
	args := []any{runID}
	states, args := workStatesIn(args)
	args = append(args, owner, formatTime(l.now()))
	rs, err := l.rq(ctx, `SELECT r.client_transfer_id FROM run_rows m
		CROSS JOIN rows r ON r.client_transfer_id = m.client_transfer_id
		WHERE m.run_id = ? AND r.state IN (`+states+`)
		AND r.claim_owner <> '' AND r.claim_owner <> ? AND r.claim_until >= ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("list rows claimed elsewhere in run %d: %w", runID, err)
	}
	defer rs.Close()
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, fmt.Errorf("list rows claimed elsewhere in run %d: %w", runID, err)
		}
		ids[id] = true
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list rows claimed elsewhere in run %d: %w", runID, err)
	}
	return ids, nil
}

// workStatesIn appends the work states to args and returns the
// placeholders of an IN list naming them.
func workStatesIn(args []any) (string, []any) {
	for _, s := range workStates {
		args = append(args, string(s))
	}
	return "?" + strings.Repeat(", ?", len(workStates)-1), args
}
