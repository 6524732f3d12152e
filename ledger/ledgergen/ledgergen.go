// Package ledgergen writes big, realistic ledgers fast, for benchmarks and
// for the tests that prove a command stays quick on years of history. It
// creates the file through ledger.Open (the real schema) and then fills it
// with set-based SQL, which writes 600,000 rows and millions of events in
// seconds where the ledger's own row-by-row API would take an hour.
package ledgergen

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/payrun/payrun/ledger"
)

// Spec describes the history to generate.
type Spec struct {
	Runs         int       // monthly runs, oldest first
	RowsPerRun   int       // rows of each run's sheet, each a new client_transfer_id
	EventsPerRow int       // events per row (ingest, transitions, API calls); at least 1
	Start        time.Time // the first run's start; each next run a month later
	// CachePayees fills the user-token cache with the rows' payees. Their
	// tokens are made up: leave it off when the ledger meets a sandbox,
	// which would not know them.
	CachePayees bool
}

// FiveYears is issue 21's five-year ledger: a finance team paying 10,000
// people monthly for five years.
var FiveYears = Spec{Runs: 60, RowsPerRun: 10_000, EventsPerRow: 5,
	Start: time.Date(2021, 1, 5, 9, 0, 0, 0, time.UTC)}

// Generate creates the ledger at path (which must not exist) with spec's
// history: every run finished, its rows settled (a third wallet loads
// LOADED, the rest bank payouts PAID, each with fee and amounts), payees in
// the user cache when CachePayees, and EventsPerRow events per row under the row's run.
// Row ids are "G<run>-<n>", payees "gu<n>" (the same payees every month).
func Generate(ctx context.Context, path string, spec Spec) error {
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		return fmt.Errorf("generate ledger: %w", err)
	}
	if err := l.Close(); err != nil {
		return fmt.Errorf("generate ledger: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=synchronous(OFF)&_pragma=foreign_keys(0)")
	if err != nil {
		return fmt.Errorf("generate ledger: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if spec.EventsPerRow < 1 {
		spec.EventsPerRow = 1
	}
	for run := 1; run <= spec.Runs; run++ {
		start := spec.Start.AddDate(0, run-1, 0).UTC()
		at := start.Format(time.RFC3339Nano)
		end := start.Add(time.Hour).Format(time.RFC3339Nano)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("generate ledger: %w", err)
		}
		stmts := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO runs (id, sheet_name, sheet_sha256, started_at, finished_at, operator, environment,
				row_count, balances_before, balances_after, status)
				VALUES (?, ?, ?, ?, ?, 'finance@host', 'production', ?, '{"USD":"9000000.00"}', '{"USD":"8000000.00"}', 'finished')`,
				[]any{run, fmt.Sprintf("payouts-%s.xlsx", start.Format("2006-01")), fmt.Sprintf("%064d", run), at, end, spec.RowsPerRun}},
			{`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
				INSERT INTO rows (client_transfer_id, first_run_id, last_run_id, sheet_line, fingerprint, input,
					method, internal_user_id, amount, source_currency, destination_currency, amount_is, state,
					user_token, payout_token, load_token, fee, exchange_rate, source_amount, destination_amount,
					delivery_type, country_code, masspay_status, attempts, created_at, updated_at)
				SELECT printf('G%02d-%06d', ?, i), ?, ?, i + 1, printf('%064x', ? * 1000000 + i),
					printf('[["client_transfer_id","G%02d-%06d"],["internal_user_id","gu%06d"],["first_name","Pat"],["last_name","Payee%06d"],["email","payee%06d@example.com"],["country","%s"],["amount","%d.%02d"]]',
						?, i, i, i, i, CASE i % 3 WHEN 0 THEN 'USA' ELSE 'MEX' END, 10 + i % 500, i % 100),
					CASE i % 3 WHEN 0 THEN 'load' ELSE 'payout' END, printf('gu%06d', i),
					printf('%d.%02d', 10 + i % 500, i % 100), 'USD', CASE i % 3 WHEN 0 THEN 'USD' ELSE 'MXN' END, 'source',
					CASE i % 3 WHEN 0 THEN 'LOADED' ELSE 'PAID' END, printf('usr_%06d', i),
					CASE i % 3 WHEN 0 THEN '' ELSE printf('pay_%02d_%06d', ?, i) END,
					CASE i % 3 WHEN 0 THEN printf('load_%02d_%06d', ?, i) ELSE '' END,
					'0.50', CASE i % 3 WHEN 0 THEN '1' ELSE '17.25' END, printf('%d.%02d', 10 + i % 500, i % 100),
					printf('%d.%02d', 10 + i % 500, i % 100), CASE i % 3 WHEN 0 THEN '' ELSE 'BANK_DEPOSIT' END,
					CASE i % 3 WHEN 0 THEN 'USA' ELSE 'MEX' END, 'COMPLETED', 1, ?, ?
				FROM seq`,
				[]any{spec.RowsPerRun, run, run, run, run, run, run, run, at, end}},
			{`INSERT INTO run_rows (run_id, client_transfer_id, sheet_line)
				SELECT last_run_id, client_transfer_id, sheet_line FROM rows WHERE last_run_id = ?`, []any{run}},
			{`WITH RECURSIVE k(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM k WHERE j < ?)
				INSERT INTO events (at, run_id, client_transfer_id, kind, from_state, to_state, http_status, masspay_status, message)
				SELECT r.updated_at, r.last_run_id, r.client_transfer_id,
					CASE WHEN k.j = 1 THEN 'ingest' WHEN k.j = ? THEN 'transition' ELSE 'api_call' END,
					CASE WHEN k.j = ? THEN (CASE r.method WHEN 'load' THEN 'load_sent' ELSE 'committing' END) ELSE '' END,
					CASE WHEN k.j = 1 THEN 'new' WHEN k.j = ? THEN r.state ELSE '' END,
					CASE WHEN k.j IN (1, ?) THEN 0 ELSE 200 END, '', ''
				FROM rows r CROSS JOIN k WHERE r.last_run_id = ? ORDER BY r.client_transfer_id, k.j`,
				[]any{spec.EventsPerRow, spec.EventsPerRow, spec.EventsPerRow, spec.EventsPerRow, spec.EventsPerRow, run}},
		}
		if spec.CachePayees {
			stmts = append(stmts, struct {
				q    string
				args []any
			}{`INSERT OR REPLACE INTO users (internal_user_id, user_token, email, updated_at)
				SELECT internal_user_id, user_token, '', updated_at FROM rows WHERE last_run_id = ?`, []any{run}})
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
				tx.Rollback()
				return fmt.Errorf("generate ledger: run %d: %w", run, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("generate ledger: %w", err)
		}
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("generate ledger: checkpoint: %w", err)
	}
	return nil
}
