// Package pgtest gives tests a fresh PostgreSQL ledger location each: a
// schema of its own (named by search_path in the URL) in one database, as
// CREATE SCHEMA takes milliseconds where CREATE DATABASE takes a second.
//
// The server comes from, in order:
//
//  1. PAYRUN_TEST_POSTGRES, a URL of an account that may CREATE DATABASE
//     (its password, if any, from PGPASSFILE or PGPASSWORD as for payrun);
//  2. PostgreSQL's own binaries (initdb, pg_ctl, found on PATH or under
//     /usr/lib/postgresql/*/bin): a throwaway cluster in a temporary
//     folder on a free 127.0.0.1 port, started once per test binary at the
//     first test that asks and stopped by Main. initdb refuses to run as
//     root, so as root the cluster runs as the user nobody;
//  3. neither: the test is skipped with a line saying how to run it, or
//     fails when PAYRUN_TEST_POSTGRES_REQUIRED=1 (CI sets it, so the
//     PostgreSQL suite cannot silently stop running there).
//
// The throwaway cluster of URL runs with fsync, synchronous_commit and
// full_page_writes off, for speed. DurableURL, for benchmarks of durable
// commits, starts a second one with PostgreSQL's durable defaults.
//
// A package using it calls Main from its TestMain.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the environment variable holding an existing server's URL.
const EnvURL = "PAYRUN_TEST_POSTGRES"

// EnvRequired, set to 1, turns the skip for want of a server into a failure.
const EnvRequired = "PAYRUN_TEST_POSTGRES_REQUIRED"

// SkipHint is what a skipped test says.
const SkipHint = "PostgreSQL tests skipped: no server. Set " + EnvURL +
	"=postgres://user@host:5432/postgres (an account that may CREATE DATABASE; password in PGPASSFILE or PGPASSWORD), " +
	"or install PostgreSQL (apt-get install postgresql) so initdb and pg_ctl are found and a throwaway cluster is started"

// server is one PostgreSQL server tests get schemas on, set up at the
// first test that asks for it.
type server struct {
	durable  bool // a throwaway cluster keeps PostgreSQL's durable defaults
	once     sync.Once
	adminURL string // the maintenance database of the server in use
	startErr error  // why no server could be had
	skip     bool   // no server and none to start: skip, don't fail
	cluster  *localCluster
}

var (
	// fast is the server of the test suites: a throwaway cluster runs
	// with fsync off, as nothing in it outlives the test binary.
	fast = &server{}
	// durable is the server of the benchmarks that measure durable
	// commits (DurableURL): a throwaway cluster keeps fsync,
	// synchronous_commit and full_page_writes on.
	durable = &server{durable: true}
)

// Main runs the tests and then stops the throwaway cluster, if one was
// started. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	for _, s := range []*server{fast, durable} {
		if s.cluster != nil {
			s.cluster.stop()
		}
	}
	return code
}

// Available reports whether a server can be had without starting one:
// PAYRUN_TEST_POSTGRES is set or PostgreSQL's binaries are installed.
func Available() bool {
	if os.Getenv(EnvURL) != "" {
		return true
	}
	_, err := binDir()
	return err == nil
}

// URL creates a schema of its own for t and returns a URL (without a
// password) whose search_path puts everything there. It skips t, saying how
// to run it, when no server can be had, and fails t when one should have
// been but did not start. A throwaway cluster behind it runs with fsync off:
// fast, and not durable.
func URL(t testing.TB) string {
	t.Helper()
	return fast.schemaURL(t)
}

// DurableURL is URL on a server whose commits are durable, for benchmarks
// that measure them: a second throwaway cluster, started once per test
// binary at the first call, with PostgreSQL's defaults fsync=on,
// synchronous_commit=on and full_page_writes=on (so every commit waits for
// the disk, as a production server's does). With PAYRUN_TEST_POSTGRES set
// it is that server, with its own settings.
func DurableURL(t testing.TB) string {
	t.Helper()
	return durable.schemaURL(t)
}

func (s *server) schemaURL(t testing.TB) string {
	t.Helper()
	s.once.Do(s.setup)
	if s.skip {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatal(SkipHint + " (" + EnvRequired + "=1)")
		}
		t.Skip(SkipHint)
	}
	if s.startErr != nil {
		t.Fatalf("pgtest: %v", s.startErr)
	}
	adminURL := s.adminURL
	name := "payrun_test_" + randomHex(8)
	db, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// An identifier cannot be a bound parameter; name is ours, [a-z0-9_].
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	if s.cluster == nil {
		// Someone else's server: leave it as found.
		t.Cleanup(func() {
			db, err := sql.Open("pgx", adminURL)
			if err != nil {
				return
			}
			defer db.Close()
			db.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+name+" CASCADE")
		})
	}
	u, _ := url.Parse(adminURL)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func (s *server) setup() {
	if env := os.Getenv(EnvURL); env != "" {
		s.adminURL = env
		return
	}
	bin, err := binDir()
	if err != nil {
		s.skip = true
		return
	}
	s.cluster, s.startErr = startCluster(bin, s.durable)
	if s.startErr == nil {
		s.adminURL = s.cluster.url
	}
}

// binDir finds the folder of initdb and pg_ctl: on PATH, else the newest
// Debian/Ubuntu install under /usr/lib/postgresql.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// localCluster is a throwaway PostgreSQL cluster.
type localCluster struct {
	bin, dir, url string
	asUser        string // run its commands as this user ("" = ourselves)
}

// startCluster makes and starts a cluster in a temporary folder. Unless
// durable, it trades durability for speed (fsync off): nothing in it
// outlives the test binary.
func startCluster(bin string, durable bool) (*localCluster, error) {
	parent := ""
	if os.Geteuid() == 0 {
		// The cluster's user must reach its folder; root's TMPDIR may be
		// private to root, /tmp never is.
		parent = "/tmp"
	}
	removeStale(bin, parent)
	dir, err := os.MkdirTemp(parent, fmt.Sprintf("payrun-pgtest-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	c := &localCluster{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("nobody")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root and there is no user nobody to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.asUser = "nobody"
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	sync := "off"
	if durable {
		sync = "on"
	}
	opts := strings.Join([]string{
		"-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=" + sync, "-c", "synchronous_commit=" + sync, "-c", "full_page_writes=" + sync,
		"-c", "max_connections=300", "-c", "shared_buffers=32MB",
	}, " ")
	logFile := filepath.Join(dir, "log")
	if out, err := c.run("pg_ctl", "-D", data, "-o", opts, "-l", logFile, "-w", "-t", "60", "start"); err != nil {
		log, _ := os.ReadFile(logFile)
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	c.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

// run runs a PostgreSQL program, as c.asUser when set.
func (c *localCluster) run(prog string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	if c.asUser != "" {
		if rp, err := exec.LookPath("runuser"); err == nil {
			cmd = exec.Command(rp, append([]string{"-u", c.asUser, "--", path}, args...)...)
		} else {
			quoted := make([]string, 0, len(args)+1)
			for _, a := range append([]string{path}, args...) {
				quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
			}
			cmd = exec.Command("su", "-s", "/bin/sh", c.asUser, "-c", strings.Join(quoted, " "))
		}
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// stop stops the cluster at once and removes it.
func (c *localCluster) stop() {
	c.run("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.dir)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
