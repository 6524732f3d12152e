package ledger

import "testing"

// pgRewrite is the whole difference between the two dialects at run time:
// placeholders are numbered outside literals, and SQLite's INSERT OR ...
// forms become ON CONFLICT clauses with the table's key.
func TestPgRewrite(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE b = ? AND c = '?' AND d = ?`:                                `SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $2`,
		`SELECT 'it''s ?', "q?" FROM t -- why?` + "\n" + `WHERE x = ?`:                     `SELECT 'it''s ?', "q?" FROM t -- why?` + "\n" + `WHERE x = $1`,
		`SELECT 1 FROM run_rows m CROSS JOIN rows r ON r.id = m.id`:                        `SELECT 1 FROM run_rows m JOIN rows r ON r.id = m.id`,
		`INSERT OR IGNORE INTO run_rows (a, b) VALUES (?, ?)`:                              `INSERT INTO run_rows (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		`INSERT OR REPLACE INTO run_summaries (run_id, data, updated_at) VALUES (?, ?, ?)`: `INSERT INTO run_summaries (run_id, data, updated_at) VALUES ($1, $2, $3) ON CONFLICT (run_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at`,
		"CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN ? END $$":                         "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN ? END $$",
	} {
		got, err := pgRewrite(in)
		if err != nil || got != want {
			t.Errorf("pgRewrite(%q)\n = %q, %v\nwant %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`PRAGMA user_version`, `INSERT OR REPLACE INTO unknown (a) VALUES (?)`} {
		if _, err := pgRewrite(bad); err == nil {
			t.Errorf("pgRewrite(%q) succeeded", bad)
		}
	}
}

// A ledger string shown to a person never shows a password.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/payrun.db":                      "/srv/payrun.db",
		"postgres://u:pw@h/db":                "postgres://u:xxxxx@h/db",
		"postgresql://u@h/db?password=pw&x=1": "postgresql://u@h/db?password=xxxxx&x=1",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
