package ledger

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations live in migrations/NNNN_name.sql and are applied in order, each
// in the same transaction as the PRAGMA user_version bump that records it, so
// a crash mid-migration leaves the file at the previous version.
//
// To change the schema, add the next file (0002_plans.sql, 0003_webhooks.sql,
// ...). Never edit or renumber a released file: ledgers in the field have
// already run it. Migrations only go forward; a ledger whose user_version is
// above the newest file here was written by a newer payrun and is refused
// with ErrNewerSchema.
//
// A PostgreSQL ledger runs migrations/postgres/NNNN_name.sql instead: the
// same numbers and names, giving the same tables in PostgreSQL's types
// (TestPostgresMigrationsMatch). A new migration gets both files.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations are the embedded steps, sorted; migrations[i].version == i+1.
var migrations = mustLoadMigrations(migrationFS, "migrations/*.sql")

// pgMigrations are the PostgreSQL steps; openPostgres refuses to run when
// they do not match migrations one for one.
var pgMigrations = mustLoadMigrations(migrationFS, "migrations/postgres/*.sql")

// SchemaVersion is the schema version this build writes: the number of the
// newest migration.
var SchemaVersion = len(migrations)

func mustLoadMigrations(fsys fs.FS, pattern string) []migration {
	ms, err := loadMigrations(fsys, pattern)
	if err != nil {
		panic(err)
	}
	return ms
}

// loadMigrations reads and checks the migration files: numbered from 1
// without gaps or duplicates.
func loadMigrations(fsys fs.FS, pattern string) ([]migration, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v < 1 {
			return nil, fmt.Errorf("load migration %s: name must be NNNN_description.sql", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("load migration %s: %w", base, err)
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("load migration %s: expected version %d", m.name, i+1)
		}
	}
	return ms, nil
}

// userVersion reads PRAGMA user_version.
func userVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// migrate brings the file at path up to SchemaVersion in one immediate
// transaction, or refuses a file from a newer build.
func migrate(ctx context.Context, db *sql.DB, path string) error {
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the DSN sets _txlock
	if err != nil {
		return fmt.Errorf("migrate ledger: %w", err)
	}
	defer tx.Rollback()
	v, err := userVersion(ctx, tx)
	if err != nil {
		return err
	}
	if v > SchemaVersion {
		return &SchemaVersionError{Path: path, File: v, Code: SchemaVersion}
	}
	if v == SchemaVersion {
		return nil
	}
	for _, m := range migrations[v:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migrate ledger to %s: %w", m.name, err)
		}
	}
	// PRAGMA takes no bound parameters; SchemaVersion is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion)); err != nil {
		return fmt.Errorf("migrate ledger: set version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate ledger: commit: %w", err)
	}
	return nil
}

// MigrationText is one migration's name and SQL, for tests that hold new
// migrations to the rules (bounded time).
type MigrationText struct {
	Name string
	SQL  string
}

// MigrationSQL returns the migrations from version from on.
func MigrationSQL(from int) []MigrationText {
	var out []MigrationText
	for _, m := range migrations {
		if m.version >= from {
			out = append(out, MigrationText{Name: m.name, SQL: m.sql})
		}
	}
	return out
}
