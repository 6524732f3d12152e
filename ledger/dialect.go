package ledger

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// The ledger's SQL is written once, in SQLite's dialect, and runs unchanged
// on SQLite. On PostgreSQL every statement passes through pgRewrite on its
// way into the pgx driver (pgConn below), so the same database/sql code
// serves both backends: "?" placeholders become "$1, $2, ...", and SQLite's
// INSERT OR IGNORE / INSERT OR REPLACE become ON CONFLICT clauses. Types,
// collations and triggers differ in the per-dialect migrations
// (migrations/ and migrations/postgres/), which give both the same tables.

// ErrNotOnPostgres means the operation exists only for a SQLite ledger file
// (a file archive, VACUUM INTO backup): PostgreSQL has its own tools for it.
var ErrNotOnPostgres = errors.New("not available on a PostgreSQL ledger")

// ErrPasswordInURL means a PostgreSQL ledger URL carried a password, which
// would then sit in shell history, process lists and logs.
var ErrPasswordInURL = errors.New("password in ledger URL")

// IsPostgresURL reports whether the ledger string names a PostgreSQL
// database (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(ledger string) bool {
	l := strings.ToLower(ledger)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// pgConfig parses a PostgreSQL ledger URL. A password in the URL, or in its
// password= parameter, is refused: it comes from PGPASSFILE (~/.pgpass) or
// the libpq environment (PGPASSWORD), which pgx reads itself.
func pgConfig(raw string) (*pgx.ConnConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse echoes the input, which may hold a password.
		return nil, errors.New("parse ledger URL: not a valid postgres:// URL")
	}
	if _, ok := u.User.Password(); ok || u.Query().Has("password") {
		return nil, fmt.Errorf("%w: give it in PGPASSFILE (~/.pgpass) or PGPASSWORD, never on the command line or in payrun.toml: postgres://user@host/db", ErrPasswordInURL)
	}
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("parse ledger URL %s: %w", redactURL(raw), err)
	}
	return cfg, nil
}

// Redact returns a ledger string fit to show: a file path as it is, a
// PostgreSQL URL with any password (which Open refuses anyway) masked.
func Redact(ledger string) string {
	if !IsPostgresURL(ledger) {
		return ledger
	}
	u, err := url.Parse(ledger)
	if err != nil {
		return "postgres://(unparsable)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// redactURL is the URL with any password taken out, for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://(unparsable)"
	}
	return u.Redacted()
}

// openPG opens a database/sql pool on PostgreSQL whose statements go
// through pgRewrite. readOnly connections refuse writes, as SQLite's
// query_only readers do.
func openPG(cfg *pgx.ConnConfig, readOnly bool) *sql.DB {
	c := cfg.Copy()
	if c.RuntimeParams == nil {
		c.RuntimeParams = map[string]string{}
	}
	if readOnly {
		c.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if c.RuntimeParams["application_name"] == "" {
		c.RuntimeParams["application_name"] = "payrun"
	}
	return sql.OpenDB(pgConnector{stdlib.GetConnector(*c)})
}

// pgConnector hands out pgConns.
type pgConnector struct{ driver.Connector }

// Connect wraps the pgx connection so statements are rewritten.
func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn)}, nil
}

// pgConn is a pgx stdlib connection that rewrites each statement from the
// ledger's SQLite dialect into PostgreSQL's before it runs. Everything else
// (transactions, argument conversion, reset) is pgx's own, promoted.
type pgConn struct{ *stdlib.Conn }

// Prepare rewrites and prepares.
func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext rewrites and prepares.
func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	q, err := pgRewrite(query)
	if err != nil {
		return nil, err
	}
	return c.Conn.PrepareContext(ctx, q)
}

// ExecContext rewrites and executes.
func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	q, err := pgRewrite(query)
	if err != nil {
		return nil, err
	}
	return c.Conn.ExecContext(ctx, q, args)
}

// QueryContext rewrites and queries.
func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, err := pgRewrite(query)
	if err != nil {
		return nil, err
	}
	return c.Conn.QueryContext(ctx, q, args)
}

// pgRewritten caches rewrites: the ledger's statements are a small fixed set
// of strings, each rewritten once.
var pgRewritten sync.Map // string -> string

// pgUpsertKeys are the conflict targets of the tables the ledger writes with
// INSERT OR REPLACE: PostgreSQL's ON CONFLICT must name them.
var pgUpsertKeys = map[string]string{
	"conflicts":      "run_id, sheet_line, client_transfer_id",
	"run_summaries":  "run_id",
	"archived_runs":  "run_id",
	"archived_rows":  "client_transfer_id",
	"main.conflicts": "run_id, sheet_line, client_transfer_id",
}

var crossJoin = regexp.MustCompile(`(?i)\bCROSS\s+JOIN\b`)

var insertOr = regexp.MustCompile(`(?is)^(\s*)INSERT\s+OR\s+(IGNORE|REPLACE)\s+INTO\s+([\w.]+)\s*(\(([^)]*)\))?`)

// pgRewrite turns one statement of the ledger's SQLite dialect into
// PostgreSQL's. A PRAGMA, which only SQLite has, is an error naming it: a
// code path that reaches one on PostgreSQL is a bug to fix, not to ignore.
func pgRewrite(q string) (string, error) {
	if v, ok := pgRewritten.Load(q); ok {
		return v.(string), nil
	}
	if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q)), "PRAGMA") {
		return "", fmt.Errorf("%w: %s", ErrNotOnPostgres, strings.TrimSpace(q))
	}
	out := pgPlaceholders(q)
	// SQLite's CROSS JOIN ... ON is its join-order hint, an inner join;
	// PostgreSQL allows no ON after CROSS JOIN.
	out = crossJoin.ReplaceAllString(out, "JOIN")
	if m := insertOr.FindStringSubmatchIndex(out); m != nil {
		verb := strings.ToUpper(out[m[4]:m[5]])
		table := out[m[6]:m[7]]
		var cols string
		if m[10] >= 0 {
			cols = out[m[10]:m[11]]
		}
		head := out[m[2]:m[3]] + "INSERT INTO " + table
		if m[8] >= 0 {
			head += " " + out[m[8]:m[9]]
		}
		rest := strings.TrimRight(strings.TrimSpace(out[m[1]:]), ";")
		switch verb {
		case "IGNORE":
			out = head + " " + strings.TrimSpace(rest) + " ON CONFLICT DO NOTHING"
		case "REPLACE":
			key, ok := pgUpsertKeys[strings.ToLower(table)]
			if !ok || cols == "" {
				return "", fmt.Errorf("rewrite for PostgreSQL: INSERT OR REPLACE INTO %s needs a known key and a column list", table)
			}
			keys := map[string]bool{}
			for _, k := range strings.Split(key, ",") {
				keys[strings.TrimSpace(k)] = true
			}
			var set []string
			for _, c := range strings.Split(cols, ",") {
				c = strings.TrimSpace(c)
				if !keys[c] {
					set = append(set, c+" = EXCLUDED."+c)
				}
			}
			action := "DO NOTHING"
			if len(set) > 0 {
				action = "DO UPDATE SET " + strings.Join(set, ", ")
			}
			out = head + " " + strings.TrimSpace(rest) + " ON CONFLICT (" + key + ") " + action
		}
	}
	pgRewritten.Store(q, out)
	return out, nil
}

// pgPlaceholders numbers the "?" placeholders of q outside string literals,
// quoted identifiers, comments and dollar-quoted bodies.
func pgPlaceholders(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case c == '$' && i+1 < len(q) && q[i+1] == '$':
			j := strings.Index(q[i+2:], "$$")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
