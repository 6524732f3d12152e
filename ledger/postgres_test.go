package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// The PostgreSQL migrations give the same tables, with the same columns in
// the same order, as the SQLite ones: one schema, two dialects.
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	lite, path := backends[0].openTemp(t)
	lite.Close()
	pg, url := backends[1].openTemp(t)
	pg.Close()
	sqliteCols := map[string][]string{}
	rs, err := rawDB(t, path).QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var table, col string
		if err := rs.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		sqliteCols[table] = append(sqliteCols[table], col)
	}
	rs.Close()
	pgCols := map[string][]string{}
	rs, err = rawDB(t, url).QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> 'schema_version' ORDER BY table_name, ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var table, col string
		if err := rs.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		pgCols[table] = append(pgCols[table], col)
	}
	rs.Close()
	if len(sqliteCols) < 10 {
		t.Fatalf("only %d SQLite tables found", len(sqliteCols))
	}
	// The claim columns are PostgreSQL's alone (claims.go says why).
	for table, only := range ledger.PostgresOnlyColumns {
		pgCols[table] = slices.DeleteFunc(pgCols[table], func(c string) bool { return slices.Contains(only, c) })
	}
	for table, cols := range sqliteCols {
		if !slices.Equal(cols, pgCols[table]) {
			t.Errorf("table %s: SQLite columns %v, PostgreSQL %v", table, cols, pgCols[table])
		}
	}
	for table := range pgCols {
		if _, ok := sqliteCols[table]; !ok {
			t.Errorf("table %s only on PostgreSQL", table)
		}
	}
}

// A password never travels in the ledger URL (shell history, ps, logs): it
// is refused, without echoing it, with a hint where it goes instead.
func TestPostgresURLWithPasswordRefused(t *testing.T) {
	for _, u := range []string{
		"postgres://payrun:s3cret-pw@db.example/payrun",
		"postgresql://payrun@db.example/payrun?password=s3cret-pw",
	} {
		_, err := ledger.Open(context.Background(), u, ledger.Options{})
		if !errors.Is(err, ledger.ErrPasswordInURL) || !strings.Contains(err.Error(), "PGPASSFILE") {
			t.Errorf("Open(%s) = %v, want ErrPasswordInURL with a PGPASSFILE hint", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error echoes the password: %v", err)
		}
	}
	for in, want := range map[string]bool{"postgres://h/db": true, "POSTGRESQL://h/db": true, "payrun.db": false, "/var/postgres/x.db": false} {
		if got := ledger.IsPostgresURL(in); got != want {
			t.Errorf("IsPostgresURL(%q) = %v", in, got)
		}
	}
}

// What only a SQLite file can do says so on PostgreSQL.
func TestPostgresFileOnlyOperations(t *testing.T) {
	l, _ := backends[1].openTemp(t)
	if err := l.Backup(context.Background(), t.TempDir()+"/copy.db"); !errors.Is(err, ledger.ErrNotOnPostgres) {
		t.Errorf("Backup = %v, want ErrNotOnPostgres", err)
	}
	if _, err := l.Archive(context.Background(), t.TempDir()+"/arc.db", time.Now()); !errors.Is(err, ledger.ErrNotOnPostgres) {
		t.Errorf("Archive = %v, want ErrNotOnPostgres", err)
	}
}

// The schema version is kept in the database, and a newer one is refused
// as on SQLite; a read-only open of an empty schema asks for a migration.
func TestPostgresSchemaVersion(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	if _, err := ledger.Open(ctx, url, ledger.Options{ReadOnly: true}); !errors.Is(err, ledger.ErrOlderSchema) {
		t.Errorf("read-only open of an empty database = %v, want ErrOlderSchema", err)
	}
	l := openAt(t, url)
	l.Close()
	newer := ledger.SchemaVersion + 7
	if _, err := rawDB(t, url).Exec(`UPDATE schema_version SET version = ?`, newer); err != nil {
		t.Fatal(err)
	}
	for _, ro := range []bool{false, true} {
		_, err := ledger.Open(ctx, url, ledger.Options{ReadOnly: ro})
		if !errors.Is(err, ledger.ErrNewerSchema) || !strings.Contains(err.Error(), fmt.Sprint(newer)) {
			t.Errorf("Open(ReadOnly=%v) = %v, want ErrNewerSchema naming %d", ro, err, newer)
		}
	}
}

// Openers of one new PostgreSQL ledger that are past the migration all
// build its deferred indexes: CREATE INDEX IF NOT EXISTS is not safe
// against a concurrent create of the same index (the later one waits on
// pg_class's unique name and then fails, 23505), which made the second of
// two `payrun run` on a fresh ledger exit 3 (found by the
// postgres-two-runners torture family). Here another opener is midway
// through building events_by_kind (its transaction open) when Open comes:
// Open waits for it and must then find the index there, not fail.
func TestPostgresOpenWhileAnotherOpenerBuildsAnIndex(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	openAt(t, url).Close()
	db := rawDB(t, url)
	if _, err := db.Exec(`DROP INDEX events_by_kind`); err != nil { // the ledger as just migrated
		t.Fatal(err)
	}
	other, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.Exec(`CREATE INDEX events_by_kind ON events (kind, id)`); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		l, err := ledger.Open(ctx, url, ledger.Options{})
		if err == nil {
			err = l.Close()
		}
		opened <- err
	}()
	// Commit once Open waits on the other opener's index, so that the
	// test does not pass by Open coming late.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var waiting int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		select {
		case err := <-opened:
			t.Fatalf("Open ended before the other opener committed: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("Open never waited on the other opener")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Fatalf("Open while another opener built an index: %v", err)
	}
}

// Two processes opening one new PostgreSQL ledger at once migrate it once
// (the migration holds an advisory lock), build its deferred indexes once
// (under the same lock: two CREATE INDEX IF NOT EXISTS of one name at once
// fail one of them on pg_class's unique index), and both then work on it.
// Several rounds, each on a new ledger, as the race is a narrow one (it
// showed between two payrun processes, BenchmarkTwoRunners, not yet here).
func TestPostgresConcurrentFirstOpen(t *testing.T) {
	for round := range 3 {
		url := pgtest.URL(t)
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				l, err := ledger.Open(context.Background(), url, ledger.Options{})
				if err == nil {
					_, err = l.BeginRun(context.Background(), ledger.RunInfo{SheetName: "s.xlsx", SheetSHA256: "x"})
					err = errors.Join(err, l.Close())
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
		l := openAt(t, url)
		runs, err := l.Runs(context.Background())
		if err != nil || len(runs) != 4 {
			t.Errorf("round %d: runs = %d, %v; want 4", round, len(runs), err)
		}
	}
}

// The same operations on the two backends export the same bytes: every
// table, every column, every value (times from the same fake clock), and
// the readers not covered elsewhere answer alike.
func TestBackendsExportTheSame(t *testing.T) {
	ctx := context.Background()
	var outs [2]string
	for i, b := range backends {
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		upsert(t, l, run.ID, input("a", 2, "10.00"), input("b", 3, "0.000001"), input("c", 4, "7"))
		walk(t, l, "a", ledger.StatePaid)
		walk(t, l, "b", ledger.StateFailed)
		upsert(t, l, beginRun(t, l).ID, input("a", 2, "11.00")) // a conflict
		if err := l.PutUserToken(ctx, "u-a", "tok-a", "a@example.com"); err != nil {
			t.Fatal(err)
		}
		if ok, err := l.ClaimAlert(ctx, ledger.AlertClaim{Key: "kyc:a", Channel: "email", Kind: "kyc", ClientTransferID: "a"}); !ok || err != nil {
			t.Fatalf("%s: ClaimAlert = %v, %v", b.name, ok, err)
		}
		var buf strings.Builder
		if err := l.ExportJSONL(ctx, &buf); err != nil {
			t.Fatalf("%s: ExportJSONL: %v", b.name, err)
		}
		tok, ok, err := l.AnyUserToken(ctx)
		alerts, aerr := l.AlertsAbout(ctx, "a")
		arc, rerr := l.ArchiveOf(ctx, run.ID)
		fmt.Fprintf(&buf, "token %s %v %v\nalerts %d %s %v\narchive %q %v\n", tok, ok, err, len(alerts), alerts[0].State, aerr, arc, rerr)
		outs[i] = buf.String()
	}
	if outs[0] != outs[1] {
		t.Errorf("SQLite and PostgreSQL differ:\nsqlite:\n%s\npostgres:\n%s", outs[0], outs[1])
	}
}

// The Lock of a PostgreSQL ledger names its holder, and the server frees it
// when the holding process dies (its session ends), as the kernel frees an
// flock: the next run takes it over. Unlike SQLite's lock file, nothing
// remembers the dead holder, so Previous is nil.
func TestPostgresLockFreedWhenHolderDies(t *testing.T) {
	ctx := context.Background()
	l, url := backends[1].openTemp(t)
	cmd, out := startChild(t, "lock", url)
	if !out.Scan() || out.Text() != "locked" {
		t.Fatalf("child said %q", out.Text())
	}
	_, err := l.Lock(ctx, ledger.LockOwner{})
	var le *ledger.LockedError
	if !errors.As(err, &le) || le.Owner.PID != cmd.Process.Pid || le.Owner.Command != "payrun run child.csv" || le.Owner.Started.IsZero() {
		t.Fatalf("Lock while child holds it = %v (owner %+v), want *LockedError naming pid %d", err, le.Owner, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The server notices the closed connection on its own schedule: soon.
	deadline := time.Now().Add(10 * time.Second)
	for {
		lk, err := l.Lock(ctx, ledger.LockOwner{})
		if err == nil {
			if lk.Previous() != nil {
				t.Errorf("Previous = %+v, want nil on PostgreSQL", lk.Previous())
			}
			lk.Release()
			break
		}
		if !errors.Is(err, ledger.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("Lock after the holder died = %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The test cluster runs with synchronous_commit=off, as a careless server
// might: the ledger's writer still commits durably.
func TestPostgresWriterCommitsDurably(t *testing.T) {
	l, _ := backends[1].openTemp(t)
	if v, err := l.WriterSetting(context.Background(), "synchronous_commit"); err != nil || v != "on" {
		t.Errorf("writer's synchronous_commit = %q, %v; want on", v, err)
	}
}
