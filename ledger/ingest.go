package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// RowInput is one sheet row to ingest into a run.
type RowInput struct {
	ID          string // client_transfer_id; must not be empty
	Line        int    // sheet line (header is line 1)
	Fingerprint string // see Fingerprint; must not be empty
	Input       []Column

	Method              string
	InternalUserID      string
	Amount              decimal.Decimal
	SourceCurrency      string
	DestinationCurrency string
	AmountIs            string

	// Route fields the sheet may already carry; the runner can also set
	// them later through RowUpdate.
	CountryCode      string
	DeliveryType     string
	PayerName        string
	DestinationToken string

	// Invalid, when not empty, ingests a new row straight into INVALID
	// with this validation error as its last_error. It is never sent.
	Invalid string
}

// Outcome says what UpsertRows did with one input.
type Outcome string

// Upsert outcomes.
const (
	// OutcomeInserted: the id was new; the row is in state new (or INVALID).
	OutcomeInserted Outcome = "inserted"
	// OutcomeExisting: the id was known with the same fingerprint; the row
	// keeps its state, and its last_run_id, sheet line and input columns
	// follow the new sheet.
	OutcomeExisting Outcome = "existing"
	// OutcomeReplaced: the id was known only as an INVALID or NEEDS_ACTION
	// row (nothing paid) and the sheet now has other content, which
	// replaces it and starts over in state new.
	OutcomeReplaced Outcome = "replaced"
	// OutcomeConflict: the id is known with another fingerprint. The
	// existing row is untouched; the sheet row is recorded as a Conflict
	// of this run and must never be paid.
	OutcomeConflict Outcome = "conflict"
)

// Upserted is UpsertRows' answer for one input.
type Upserted struct {
	ID      string
	Line    int
	Outcome Outcome
	// State is the row's state after the upsert. For a conflict it is
	// StateConflict; Conflict holds the existing row's state.
	State    State
	Conflict *Conflict // set for OutcomeConflict
}

// UpsertResult is the answer to one UpsertRows call.
type UpsertResult struct {
	Rows []Upserted // one per input, in input order

	Inserted, Existing, Replaced, Conflicts int
}

// Conflict is a sheet row whose client_transfer_id the ledger already holds
// with a different fingerprint. It lives in the conflicts table, keyed by
// (run, sheet line, id), so the results of that run can echo the row.
type Conflict struct {
	RunID int64
	ID    string
	Line  int
	// Fingerprint is the sheet row's; ExistingFingerprint the ledger's.
	Fingerprint         string
	ExistingFingerprint string
	ExistingState       State
	ExistingRunID       int64 // the run that first ingested the existing row
	Input               []Column
	Method              string
	InternalUserID      string
	Amount              decimal.Decimal
	SourceCurrency      string
	DestinationCurrency string
	AmountIs            string
	RecordedAt          time.Time
}

// UpsertRows ingests sheet rows into run runID in one transaction. A new id
// is inserted in state new (or INVALID, see RowInput.Invalid). A known id
// with the same fingerprint is left in its state. A known id with another
// fingerprint is a conflict: the existing row is never touched, a Conflict is
// recorded, and an event of kind EventConflict is appended. Each inserted,
// replaced or conflicting row also gets an event. Every row but a conflict
// becomes one of run runID's rows (see RowFilter.RunID), whatever later runs
// do with the same id. The run's row_count grows by len(in).
//
// Call it with chunks of a few thousand rows: each call is one transaction
// that holds the ledger's write lock while it runs.
func (l *Ledger) UpsertRows(ctx context.Context, runID int64, in []RowInput) (UpsertResult, error) {
	for _, r := range in {
		if r.ID == "" {
			return UpsertResult{}, fmt.Errorf("upsert rows: line %d: empty client_transfer_id", r.Line)
		}
		if r.Fingerprint == "" {
			return UpsertResult{}, fmt.Errorf("upsert rows: row %q: empty fingerprint", r.ID)
		}
	}
	var res UpsertResult
	err := l.write(ctx, true, func(tx *wtx) error {
		res = UpsertResult{Rows: make([]Upserted, 0, len(in))}
		var one int
		if err := tx.queryRow(`SELECT 1 FROM runs WHERE id = ?`, runID).Scan(&one); err != nil {
			return notFound(err, fmt.Sprintf("run %d", runID))
		}
		now := formatTime(l.now())
		for _, r := range in {
			u, err := upsertRow(tx, runID, r, now)
			if err != nil {
				return fmt.Errorf("row %q (line %d): %w", r.ID, r.Line, err)
			}
			switch u.Outcome {
			case OutcomeInserted:
				res.Inserted++
			case OutcomeExisting:
				res.Existing++
			case OutcomeReplaced:
				res.Replaced++
			case OutcomeConflict:
				res.Conflicts++
			}
			res.Rows = append(res.Rows, u)
		}
		_, err := tx.exec(`UPDATE runs SET row_count = row_count + ? WHERE id = ?`, len(in), runID)
		return err
	})
	if err != nil {
		return UpsertResult{}, fmt.Errorf("upsert rows into run %d: %w", runID, err)
	}
	return res, nil
}

func upsertRow(tx *wtx, runID int64, r RowInput, now string) (Upserted, error) {
	input, err := marshalColumns(r.Input)
	if err != nil {
		return Upserted{}, err
	}
	state, lastErr := StateNew, ""
	if r.Invalid != "" {
		state, lastErr = StateInvalid, r.Invalid
	}
	var (
		oldFP, oldState, internalErr string
		oldRun                       int64
	)
	err = tx.queryRow(`SELECT fingerprint, state, first_run_id, internal_error FROM rows WHERE client_transfer_id = ?`, r.ID).
		Scan(&oldFP, &oldState, &oldRun, &internalErr)
	if errors.Is(err, sql.ErrNoRows) {
		// An id moved to an archive file is known all the same: its row
		// was final there, so the sheet row is a conflict, never paid.
		err = tx.queryRow(`SELECT fingerprint, state, run_id FROM archived_rows WHERE client_transfer_id = ?`, r.ID).
			Scan(&oldFP, &oldState, &oldRun)
		if err == nil {
			return recordConflict(tx, runID, r, input, oldFP, oldState, oldRun, now)
		}
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.exec(`INSERT INTO rows (client_transfer_id, first_run_id, last_run_id,
			sheet_line, fingerprint, input, method, internal_user_id, amount, source_currency,
			destination_currency, amount_is, country_code, delivery_type, payer_name,
			destination_token, state, last_error, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, runID, runID, r.Line, r.Fingerprint, input, r.Method, r.InternalUserID, decString(r.Amount),
			r.SourceCurrency, r.DestinationCurrency, r.AmountIs, r.CountryCode, r.DeliveryType, r.PayerName,
			r.DestinationToken, string(state), lastErr, now, now)
		if err != nil {
			return Upserted{}, err
		}
		if err := addToRun(tx, runID, r); err != nil {
			return Upserted{}, err
		}
		if err := insertEvent(tx, Event{RunID: runID, TransferID: r.ID, Kind: EventIngest,
			To: state, Message: lastErr}, now); err != nil {
			return Upserted{}, err
		}
		return Upserted{ID: r.ID, Line: r.Line, Outcome: OutcomeInserted, State: state}, nil
	case err != nil:
		return Upserted{}, err
	case oldFP == r.Fingerprint:
		_, err = tx.exec(`UPDATE rows SET last_run_id = ?, sheet_line = ?, input = ?, updated_at = ?
			WHERE client_transfer_id = ?`, runID, r.Line, input, now, r.ID)
		if err != nil {
			return Upserted{}, err
		}
		if err := addToRun(tx, runID, r); err != nil {
			return Upserted{}, err
		}
		return Upserted{ID: r.ID, Line: r.Line, Outcome: OutcomeExisting, State: State(oldState)}, nil
	case State(oldState) == StateInvalid || (State(oldState) == StateNeedsAction && internalErr == ""):
		// Refused by validation and never sent, or refused by MassPay for
		// something a person had to fix (every way into NEEDS_ACTION is a
		// definite refusal: nothing was paid, except a row stopped on an
		// internal error, which stays). Nothing paid at MassPay can
		// collide with the corrected row, so it takes the old one's place.
		// The key sequence moves on: the old keys were sent with the old
		// bodies, and a key must never be reused for a different request.
		_, err = tx.exec(`UPDATE rows SET last_run_id = ?, sheet_line = ?, fingerprint = ?,
			input = ?, method = ?, internal_user_id = ?, amount = ?, source_currency = ?,
			destination_currency = ?, amount_is = ?, country_code = ?, delivery_type = ?, payer_name = ?,
			destination_token = ?, state = ?, last_error = ?, action_needed = '', kyc_upload_link = '',
			quote_seq = CASE WHEN state = 'NEEDS_ACTION' THEN quote_seq + 1 ELSE quote_seq END, updated_at = ?
			WHERE client_transfer_id = ? AND state = ?`,
			runID, r.Line, r.Fingerprint, input, r.Method, r.InternalUserID, decString(r.Amount),
			r.SourceCurrency, r.DestinationCurrency, r.AmountIs, r.CountryCode, r.DeliveryType, r.PayerName,
			r.DestinationToken, string(state), lastErr, now, r.ID, oldState)
		if err != nil {
			return Upserted{}, err
		}
		if err := addToRun(tx, runID, r); err != nil {
			return Upserted{}, err
		}
		if err := insertEvent(tx, Event{RunID: runID, TransferID: r.ID, Kind: EventIngest,
			From: State(oldState), To: state,
			Message: fmt.Sprintf("%s row replaced by the corrected sheet row: fingerprint %s -> %s", oldState, oldFP, r.Fingerprint)}, now); err != nil {
			return Upserted{}, err
		}
		return Upserted{ID: r.ID, Line: r.Line, Outcome: OutcomeReplaced, State: state}, nil
	default:
		return recordConflict(tx, runID, r, input, oldFP, oldState, oldRun, now)
	}
}

// recordConflict records sheet row r of run runID as a conflict with the
// ledger's row of fingerprint oldFP in oldState, first ingested by oldRun
// (a row in the ledger or one moved to an archive).
func recordConflict(tx *wtx, runID int64, r RowInput, input, oldFP, oldState string, oldRun int64, now string) (Upserted, error) {
	c := &Conflict{RunID: runID, ID: r.ID, Line: r.Line, Fingerprint: r.Fingerprint,
		ExistingFingerprint: oldFP, ExistingState: State(oldState), ExistingRunID: oldRun,
		Input: r.Input, Method: r.Method, InternalUserID: r.InternalUserID, Amount: r.Amount,
		SourceCurrency: r.SourceCurrency, DestinationCurrency: r.DestinationCurrency, AmountIs: r.AmountIs}
	c.RecordedAt, _ = time.Parse(time.RFC3339Nano, now)
	_, err := tx.exec(`INSERT OR REPLACE INTO conflicts (run_id, client_transfer_id,
		sheet_line, fingerprint, existing_fingerprint, existing_state, existing_run_id, input,
		method, internal_user_id, amount, source_currency, destination_currency, amount_is,
		recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		runID, r.ID, r.Line, r.Fingerprint, oldFP, oldState, oldRun, input, r.Method,
		r.InternalUserID, decString(r.Amount), r.SourceCurrency, r.DestinationCurrency, r.AmountIs, now)
	if err != nil {
		return Upserted{}, err
	}
	if err := insertEvent(tx, Event{RunID: runID, TransferID: r.ID, Kind: EventConflict,
		From: State(oldState), To: StateConflict,
		Message: fmt.Sprintf("line %d: fingerprint %s differs from ledger's %s (row %s, first run %d); not paid",
			r.Line, r.Fingerprint, oldFP, oldState, oldRun)}, now); err != nil {
		return Upserted{}, err
	}
	return Upserted{ID: r.ID, Line: r.Line, Outcome: OutcomeConflict, State: StateConflict, Conflict: c}, nil
}

// addToRun records that run runID's sheet holds row r, at r.Line. Every
// outcome but a conflict calls it: a conflicting sheet row is kept per run in
// conflicts, and the ledger row it collided with is not this sheet's. A
// second ingest of the same row into the same run (a repeated chunk, the
// same id twice in one sheet) is harmless; the later line wins, as it does
// for rows.sheet_line.
func addToRun(tx *wtx, runID int64, r RowInput) error {
	_, err := tx.exec(`INSERT INTO run_rows (run_id, client_transfer_id, sheet_line) VALUES (?, ?, ?)
		ON CONFLICT (run_id, client_transfer_id) DO UPDATE SET sheet_line = excluded.sheet_line`,
		runID, r.ID, r.Line)
	if err != nil {
		return fmt.Errorf("add row to run %d: %w", runID, err)
	}
	return nil
}

const conflictCols = `run_id, client_transfer_id, sheet_line, fingerprint, existing_fingerprint,
	existing_state, existing_run_id, input, method, internal_user_id, amount, source_currency,
	destination_currency, amount_is, recorded_at`

// Conflicts yields the conflicts recorded in run runID (0: every run) in
// sheet order. Like Rows it reads in short pages, not one long snapshot.
func (l *Ledger) Conflicts(ctx context.Context, runID int64) iter.Seq2[Conflict, error] {
	return func(yield func(Conflict, error) bool) {
		var (
			lastRun  int64
			lastLine int
			lastID   string
			first    = true
		)
		for {
			// The run's condition is left out, not made always true, when
			// every run is asked for: "? = 0 OR run_id = ?" made SQLite
			// walk every run's conflicts for one run's report.
			where, args := []string{}, []any{}
			if runID != 0 {
				where, args = append(where, "run_id = ?"), append(args, runID)
			}
			if !first {
				where = append(where, "(run_id, sheet_line, client_transfer_id) > (?, ?, ?)")
				args = append(args, lastRun, lastLine, lastID)
			}
			q := `SELECT ` + conflictCols + ` FROM conflicts`
			if len(where) > 0 {
				q += ` WHERE ` + strings.Join(where, " AND ")
			}
			rs, err := l.rq(ctx, q+` ORDER BY run_id, sheet_line, client_transfer_id LIMIT ?`, append(args, pageSize)...)
			if err != nil {
				yield(Conflict{}, fmt.Errorf("read conflicts: %w", err))
				return
			}
			var page []Conflict
			for rs.Next() {
				var (
					c            Conflict
					state, input string
					recorded     sql.NullString
				)
				if err := rs.Scan(&c.RunID, &c.ID, &c.Line, &c.Fingerprint, &c.ExistingFingerprint,
					&state, &c.ExistingRunID, &input, &c.Method, &c.InternalUserID, &c.Amount,
					&c.SourceCurrency, &c.DestinationCurrency, &c.AmountIs, &recorded); err != nil {
					rs.Close()
					yield(Conflict{}, fmt.Errorf("read conflicts: %w", err))
					return
				}
				c.ExistingState = State(state)
				if c.Input, err = unmarshalColumns(input); err == nil {
					c.RecordedAt, err = parseTime(recorded)
				}
				if err != nil {
					rs.Close()
					yield(Conflict{}, fmt.Errorf("read conflicts: %w", err))
					return
				}
				page = append(page, c)
			}
			err = rs.Err()
			rs.Close()
			if err != nil {
				yield(Conflict{}, fmt.Errorf("read conflicts: %w", err))
				return
			}
			for _, c := range page {
				if !yield(c, nil) {
					return
				}
			}
			if len(page) < pageSize {
				return
			}
			last := page[len(page)-1]
			lastRun, lastLine, lastID, first = last.RunID, last.Line, last.ID, false
		}
	}
}
