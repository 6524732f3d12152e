package ledger_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/ledgergen"
)

// BenchmarkUpgradeOpen200k: the first open of a 200,000-row ledger written
// by the previous schema (6) takes well under a second (issue 21's goal:
// never more than 1 s blocked on a migration): migration 0007 only adds a
// column with a constant default, small tables and an index on runs. It
// reports the open in ms. It was a timed test in make test, where -race made
// generating the ledger take minutes; TestNewMigrationsAreBounded is the
// check that stays there. Run it alone:
//
//	go test -run '^$' -bench UpgradeOpen200k -benchtime 1x ./ledger/
func BenchmarkUpgradeOpen200k(b *testing.B) {
	ctx := context.Background()
	// One schema-6 ledger, generated once and copied for each open: go test
	// raises b.N to 100 for a 10 ms open, and generating 200,000 rows each
	// time took 13 minutes of make bench.
	old := filepath.Join(b.TempDir(), "old.db")
	if err := ledgergen.Generate(ctx, old, ledgergen.Spec{Runs: 20, RowsPerRun: 10_000, EventsPerRow: 3,
		Start: time.Date(2024, 1, 5, 9, 0, 0, 0, time.UTC)}); err != nil {
		b.Fatal(err)
	}
	db := rawDB(b, old)
	for _, q := range []string{`DROP TABLE payee_routes`, `DROP TABLE sheet_files`, `DROP TABLE sheet_leases`, `DROP TABLE run_leases`, `DROP TABLE console_sessions`, `DROP TABLE console_signin_counters`, `DROP TABLE run_summaries`, `DROP TABLE archived_runs`, `DROP TABLE archived_rows`, `DROP INDEX runs_by_ingest_key`,
		`ALTER TABLE runs DROP COLUMN ingest_key`,
		`PRAGMA wal_checkpoint(TRUNCATE)`, `PRAGMA user_version = 6`} {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	body, err := os.ReadFile(old)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "old.db")
		if err := os.WriteFile(path, body, 0o600); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		l, err := ledger.Open(ctx, path, ledger.Options{})
		took := time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if c, err := l.Counts(ctx, 20); err != nil || c[ledger.StatePaid]+c[ledger.StateLoaded] != 10_000 {
			b.Errorf("run 20 after the upgrade: %v, %v", c, err)
		}
		l.Close()
		b.ReportMetric(float64(took.Microseconds())/1000, "open-ms")
	}
}

// boundedStatement matches the statements a migration may run on a ledger
// of any size in constant time: new tables, new columns (SQLite adds a
// column with a constant default without rewriting a row), triggers, and
// indexes on the small tables. Anything that reads or rewrites rows,
// run_rows, events, requests or conflicts (UPDATE, INSERT ... SELECT, an
// index over them) grows with the ledger and must run in the background
// instead, with the old query path still serving meanwhile.
var boundedStatement = regexp.MustCompile(`(?is)^(CREATE TABLE|CREATE TRIGGER|ALTER TABLE \w+ ADD COLUMN|` +
	`CREATE INDEX \w+ ON (runs|plans|console_users|alerts|archived_runs|archived_rows|users)\b|DROP TRIGGER|DROP INDEX)`)

// checkedColumn matches a column added to a table that grows every month.
// SQLite (3.37 on) checks every existing row when a column is added to a
// table with CHECK constraints or a STRICT table (ALTER TABLE runs
// pragma_quick_check over it), whatever the new column says: rows has its
// state CHECK, and 0010's three claim columns on it made a 200,000-row
// ledger's first open take 5.3-6.8 s. Such a column goes in a new table.
var checkedColumn = regexp.MustCompile(`(?is)^ALTER TABLE (rows|run_rows|events|requests|conflicts)\s+ADD COLUMN`)

// TestNewMigrationsAreBounded holds every migration from 0007 on to
// boundedStatement; 0001-0006 ran their backfills before this rule.
func TestNewMigrationsAreBounded(t *testing.T) {
	for _, m := range ledger.MigrationSQL(7) {
		for _, stmt := range splitSQL(m.SQL) {
			if !boundedStatement.MatchString(stmt) {
				t.Errorf("%s: %q may take time proportional to the ledger; run it in the background", m.Name, firstLine(stmt))
			}
			if checkedColumn.MatchString(stmt) {
				t.Errorf("%s: %q: SQLite may check every existing row when a column is added to this table; put the column in a new table", m.Name, firstLine(stmt))
			}
		}
	}
}

// splitSQL splits a migration into statements, dropping comments; trigger
// bodies (BEGIN ... END;) stay whole.
func splitSQL(s string) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "--"); i >= 0 {
			l = l[:i]
		}
		lines = append(lines, l)
	}
	var out []string
	var cur strings.Builder
	inTrigger := false
	for _, part := range strings.SplitAfter(strings.Join(lines, "\n"), ";") {
		cur.WriteString(part)
		text := strings.TrimSpace(cur.String())
		if strings.HasPrefix(strings.ToUpper(text), "CREATE TRIGGER") {
			inTrigger = !strings.HasSuffix(strings.ToUpper(strings.TrimSuffix(text, ";")), "END")
		}
		if inTrigger {
			continue
		}
		if text = strings.TrimSpace(strings.TrimSuffix(text, ";")); text != "" {
			out = append(out, text)
		}
		cur.Reset()
	}
	return out
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
