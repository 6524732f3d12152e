// Package ledger is payrun's durable checkpoint ledger: one SQLite file that
// records, before and after every call to MassPay, what the runner is about
// to do and what happened, so a re-run after a crash never pays a row twice.
//
// The ledger holds four kinds of record:
//
//   - runs: one per `payrun run` of a sheet (file name, sha256, operator,
//     balances before and after, status);
//   - rows: one per client_transfer_id, the row's state in the payment state
//     machine (see State) and everything MassPay told us about it;
//   - users: the internal_user_id -> user_token cache shared by every run;
//   - events: an append-only audit trail of every transition, API call,
//     webhook and reconcile outcome. The database refuses UPDATE and DELETE
//     on it; only Archive, which moves old finished runs to an archive
//     file, lifts that guard, inside the one transaction that drops what it
//     copied and verified.
//
// Rows only move through Transition, a compare-and-set on the row's current
// state that writes the new state and its event in one transaction. Concurrent
// Transition calls are group-committed: one writer goroutine batches them into
// a single durable transaction (WAL, synchronous=FULL), and every caller
// returns only after the transaction holding its change is on disk. Intent
// written through Transition is therefore durable before the call it
// announces is sent.
//
// A single process may work a ledger at a time: Lock takes an flock(2) on the
// sidecar file "<ledger>.lock" and records the owner's pid, host and start
// time there, so a second process is refused at once with a *LockedError that
// names the first. The kernel drops the flock when its process dies, so a lock
// left by a dead process is simply taken over.
//
// The schema is versioned with PRAGMA user_version and migrated forward only,
// from the numbered files in migrations/ (see migrate.go for how to add one).
// Money is stored as decimal text and surfaced as decimal.Decimal; times are
// stored as UTC RFC 3339 text with nanoseconds.
//
// The same ledger can live in PostgreSQL, opened from a postgres:// URL (see
// dialect.go and ledger_pg.go): the statements above are rewritten on their
// way into the pgx driver, migrations/postgres/ gives the same tables, the
// schema version is a schema_version table, and what the file gave SQLite
// is a PostgreSQL advisory lock: Lock is a session lock, every write
// transaction holds a transaction lock, all keyed by the ledger's schema.
// That lock is exclusive (one writer at a time, as on SQLite) except for
// batches of writes that cannot contend, which share it (writer.go,
// writeShared). Several runners share one run there through row claims
// (claims.go); runs and the inbox's sheets hold leases (run_leases.go,
// sheet_leases.go). Durability is the server's: a commit returns once
// PostgreSQL has it (keep synchronous_commit on).
package ledger
