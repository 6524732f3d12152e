package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RunStatus is where a run stands.
type RunStatus string

// Run statuses.
const (
	RunRunning  RunStatus = "running"  // begun, not finished (or its process died)
	RunFinished RunStatus = "finished" // the runner reached the end of the sheet
	RunAborted  RunStatus = "aborted"  // stopped early: signal, auth failure, lost ledger
)

// RunInfo describes a run about to begin.
type RunInfo struct {
	SheetName      string // the sheet's file name as given
	SheetSHA256    string // hex SHA-256 of the sheet file
	Operator       string // who ran it (user@host)
	Environment    string // "sandbox", "production", ...
	BalancesBefore Balances
	// IngestKey identifies the sheet's bytes together with every setting
	// that changes how they become rows; empty when unknown. Runs with the
	// same key read the same rows: see CopySettledRun.
	IngestKey string
	// StartedAt defaults to the ledger's clock.
	StartedAt time.Time
}

// RunFinish is how a run ended.
type RunFinish struct {
	Status        RunStatus // RunFinished or RunAborted
	BalancesAfter Balances
	// FinishedAt defaults to the ledger's clock.
	FinishedAt time.Time
}

// Run is one recorded run of a sheet.
type Run struct {
	ID             int64
	SheetName      string
	SheetSHA256    string
	StartedAt      time.Time
	FinishedAt     time.Time // zero while running
	Operator       string
	Environment    string
	RowCount       int // sheet rows ingested into this run by UpsertRows
	BalancesBefore Balances
	BalancesAfter  Balances
	Status         RunStatus
	IngestKey      string // see RunInfo.IngestKey
}

const runCols = `id, sheet_name, sheet_sha256, started_at, finished_at, operator, environment,
	row_count, balances_before, balances_after, status, ingest_key`

// BeginRun records the start of a run and returns it with its new ID.
func (l *Ledger) BeginRun(ctx context.Context, info RunInfo) (Run, error) {
	if info.StartedAt.IsZero() {
		info.StartedAt = l.now()
	}
	before, err := marshalBalances(info.BalancesBefore)
	if err != nil {
		return Run{}, fmt.Errorf("begin run: %w", err)
	}
	var run Run
	err = l.write(ctx, false, func(tx *wtx) error {
		r := tx.queryRow(`INSERT INTO runs
			(sheet_name, sheet_sha256, started_at, operator, environment, balances_before, status, ingest_key)
			VALUES (?, ?, ?, ?, ?, ?, 'running', ?) RETURNING `+runCols,
			info.SheetName, info.SheetSHA256, formatTime(info.StartedAt), info.Operator, info.Environment, before, info.IngestKey)
		var err error
		run, err = scanRun(r)
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("begin run: %w", err)
	}
	return run, nil
}

// FinishRun records the end of run runID.
func (l *Ledger) FinishRun(ctx context.Context, runID int64, fin RunFinish) (Run, error) {
	if fin.Status != RunFinished && fin.Status != RunAborted {
		return Run{}, fmt.Errorf("finish run %d: status %q is not finished or aborted", runID, fin.Status)
	}
	if fin.FinishedAt.IsZero() {
		fin.FinishedAt = l.now()
	}
	after, err := marshalBalances(fin.BalancesAfter)
	if err != nil {
		return Run{}, fmt.Errorf("finish run %d: %w", runID, err)
	}
	var run Run
	err = l.write(ctx, false, func(tx *wtx) error {
		r := tx.queryRow(`UPDATE runs SET finished_at = ?, balances_after = ?, status = ?
			WHERE id = ? RETURNING `+runCols,
			formatTime(fin.FinishedAt), after, string(fin.Status), runID)
		var err error
		run, err = scanRun(r)
		return err
	})
	if err != nil {
		return Run{}, notFound(err, fmt.Sprintf("finish run %d", runID))
	}
	return run, nil
}

// Run returns run id, or ErrNotFound.
func (l *Ledger) Run(ctx context.Context, id int64) (Run, error) {
	run, err := scanRun(l.rqRow(ctx, `SELECT `+runCols+` FROM runs WHERE id = ?`, id))
	if err != nil {
		return Run{}, notFound(err, fmt.Sprintf("read run %d", id))
	}
	return run, nil
}

// LatestRun returns the most recently begun run, or ErrNotFound if there is
// none.
func (l *Ledger) LatestRun(ctx context.Context) (Run, error) {
	run, err := scanRun(l.rqRow(ctx, `SELECT `+runCols+` FROM runs ORDER BY id DESC LIMIT 1`))
	if err != nil {
		return Run{}, notFound(err, "read latest run")
	}
	return run, nil
}

// Runs returns every run, oldest first. A ledger holds one run per sheet
// attempt, so the list stays short.
func (l *Ledger) Runs(ctx context.Context) ([]Run, error) {
	rs, err := l.rq(ctx, `SELECT `+runCols+` FROM runs ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rs.Close()
	var runs []Run
	for rs.Next() {
		run, err := scanRun(rs)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		runs = append(runs, run)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanRun(s scanner) (Run, error) {
	var (
		r                     Run
		started, finished     sql.NullString
		before, after, status sql.NullString
	)
	if err := s.Scan(&r.ID, &r.SheetName, &r.SheetSHA256, &started, &finished, &r.Operator,
		&r.Environment, &r.RowCount, &before, &after, &status, &r.IngestKey); err != nil {
		return Run{}, err
	}
	var err error
	if r.StartedAt, err = parseTime(started); err != nil {
		return Run{}, err
	}
	if r.FinishedAt, err = parseTime(finished); err != nil {
		return Run{}, err
	}
	if r.BalancesBefore, err = unmarshalBalances(before); err != nil {
		return Run{}, err
	}
	if r.BalancesAfter, err = unmarshalBalances(after); err != nil {
		return Run{}, err
	}
	r.Status = RunStatus(status.String)
	return r, nil
}
