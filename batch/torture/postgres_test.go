package torture

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the claim columns

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// pgFamily is the line of the two-runner PostgreSQL family.
const pgFamily = "postgres-two-runners"

// pgLease is the runners' --claim-lease: short, so that B takes a killed
// A's rows over within seconds.
const pgLease = 2 * time.Second

// TestTorturePostgresTwoRunners runs a 50-row sheet with two `payrun run`
// processes, A and B, on one PostgreSQL ledger (a fresh schema per
// scenario) against one sandbox process that loses 10% of answers after
// applying them and fails 5% with 5xx (half the unclear-outcomes family's
// rates: the client's backoff after faults in a row, 0.5+1+2 s, is what
// makes a scenario long, and the full family runs some 300 of them). A is
// SIGKILLed at its k-th boundary (PAYRUN_FAULTPOINT=*@k) while B goes on,
// takes A's rows over once their 2 s leases lapse and resumes any in
// flight under the recorded key; when both have ended, a third run
// finishes whatever B left for the next run. Then: every row paid exactly once, every row final, no row
// still claimed by a runner that ended, no unknown outcome retried under a
// new key, and ledger, results workbook and sandbox audit agree.
//
// k runs over every boundary A passes in a clean two-runner run (full
// mode; short mode: four of them). How far A gets depends on how many rows
// B takes, which varies run to run, so a late k might never be reached. To
// make the enumeration land, B talks to MassPay through a proxy that delays
// every request (A goes straight), so A does most of the sheet and passes
// about as many boundaries as in the counting run; a point whose kill did
// not land (A ended first) is run again on a fresh schema with B slowed
// further, up to twice. Restarting with an adjusted k instead would change
// which boundary is hit, so the enumeration would no longer be "every
// boundary"; slowing B keeps k's meaning. Kills that still did not land
// are counted on the family's line ("kills landed"), and such a scenario is
// judged all the same: it is a clean two-runner run.
func TestTorturePostgresTwoRunners(t *testing.T) {
	cleanURL := pgtest.URL(t) // skips, saying how to run it, without a server
	dir := t.TempDir()
	sandboxFlags := []string{"--lost-response-rate", "0.1", "--error-rate", "0.05", "--latency", "1ms", "--latency-jitter", "3ms"}
	sb := startSandbox(t, 22, sandboxFlags...)
	delay := 15 * time.Millisecond

	// The clean run counts A's boundaries; it must hold the invariant too.
	count := filepath.Join(dir, "count")
	sh := writeSheet(t, filepath.Join(dir, "pgclean.csv"), "pgclean", mix50())
	res := twoRunners(t, sh, cleanURL, dir, "pgclean", sb.url, delayProxy(t, sb.url, delay), "", count)
	if res.a.killed || (res.a.code != 0 && res.a.code != 1) {
		t.Fatalf("clean run, A: exit %d\n%s", res.a.code, lastLines(res.a.output, 20))
	}
	b, _ := os.ReadFile(count)
	names := strings.Fields(string(b))
	if len(names) < 50 {
		t.Fatalf("A passed only %d boundaries of a 50-row two-runner run", len(names))
	}
	t.Logf("clean run: A passed %d boundaries; %s", len(names), res.summary)
	judge(t, pgFamily, "go test -run TorturePostgresTwoRunners", checkPG(t, sh, cleanURL, res, sb))

	points := pgCrashPoints(len(names))
	var landed, tried atomic.Int64
	t.Run("points", func(t *testing.T) {
		for i, k := range points {
			if sp := os.Getenv(envPoint); sp != "" && sp != strconv.Itoa(k) {
				continue
			}
			if i > 0 && i%25 == 0 {
				sb = startSandbox(t, int64(22+i), sandboxFlags...) // keep each audit small
			}
			sb := sb
			t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
				// As many at once as go test's -parallel allows
				// (GOMAXPROCS by default): a scenario mostly waits (the
				// client's backoff after a lost answer or a 5xx, a killed
				// runner's lease), and one at a time the full family
				// would take over an hour.
				t.Parallel()
				tried.Add(1)
				v, hit := pgPoint(t, sb, dir, k, delay)
				if hit {
					landed.Add(1)
				}
				judge(t, pgFamily, fmt.Sprintf("%s=%d (boundary %s of A's clean run; go test -run TorturePostgresTwoRunners)", envPoint, k, names[k-1]), v)
			})
		}
	})
	t.Logf("%d boundaries of A, %d points run, kills landed at %d", len(names), tried.Load(), landed.Load())
	note(pgFamily, fmt.Sprintf("kills landed: %d of %d points (%d boundaries), B stopped by MassPay faults before paying: %d",
		landed.Load(), tried.Load(), len(names), bOutages.Load()))
}

// pgPoint is one crash point: A killed at its k-th boundary, run again
// with B slower (up to twice) while the kill does not land. It returns the
// verdict of the last try and whether the kill landed.
func pgPoint(t *testing.T, sb *sandboxProc, dir string, k int, delay time.Duration) (verdict, bool) {
	var v verdict
	for attempt, d := range []time.Duration{delay, 4 * delay, 16 * delay} {
		tag := fmt.Sprintf("pgk%da%d", k, attempt)
		url := pgtest.URL(t)
		sh := writeSheet(t, filepath.Join(dir, tag+".csv"), tag, mix50())
		res := twoRunners(t, sh, url, dir, tag, sb.url, delayProxy(t, sb.url, d), "*@"+strconv.Itoa(k), "")
		v = checkPG(t, sh, url, res, sb)
		if res.a.killed || !v.ok() {
			return v, res.a.killed
		}
		t.Logf("point %d: A ended before its boundary %d (B delayed %s: %s); again with B slower", k, k, d, res.summary)
	}
	return v, false
}

// pgCrashPoints is every boundary in full mode, else four spread over A's
// share of the run (the first and one near the end included).
func pgCrashPoints(n int) []int {
	if full() {
		ks := make([]int, n)
		for i := range ks {
			ks[i] = i + 1
		}
		return ks
	}
	return []int{1, n / 3, 2 * n / 3, max(1, n*9/10)}
}

// pgOutcome is how a two-runner scenario ended.
type pgOutcome struct {
	a, b    runResult
	pids    [2]int // A's and B's process ids, found in their claims' owner names
	resumes int    // third runs after both ended
	out     string // the results workbook of the last run to end
	summary string
}

// twoRunners runs A (straight to the sandbox, armed with faultpoint and
// countFile) and B (through bURL) on one sheet and ledger at once, waits
// for both, then resumes with plain runs until every row is final.
func twoRunners(t *testing.T, sh sheet, ledgerURL, dir, tag, aURL, bURL, faultpoint, countFile string) pgOutcome {
	t.Helper()
	ao := runOpts{sheet: sh.path, ledger: ledgerURL, out: filepath.Join(dir, tag+"-a.xlsx"), baseURL: aURL,
		workers: 4, faultpoint: faultpoint, countFile: countFile, claimLease: pgLease}
	bo := runOpts{sheet: sh.path, ledger: ledgerURL, out: filepath.Join(dir, tag+"-b.xlsx"), baseURL: bURL,
		workers: 4, claimLease: pgLease}
	pa, pb := startPayrun(t, ao), startPayrun(t, bo)
	var (
		o  pgOutcome
		wg sync.WaitGroup
	)
	o.pids = [2]int{pa.cmd.Process.Pid, pb.cmd.Process.Pid}
	wg.Add(2)
	go func() { defer wg.Done(); o.a = pa.wait(t) }()
	go func() { defer wg.Done(); o.b = pb.wait(t) }()
	wg.Wait()
	o.out = bo.out
	if !allFinal(sh, ledgerRows(t, ledgerURL)) {
		// Rows B worked and left for the next run (an outcome still
		// unknown after the client's retries) are not its to take up
		// again: a third run does, as a resume would.
		co := bo
		co.out, co.baseURL = filepath.Join(dir, tag+"-c.xlsx"), aURL
		o.resumes = resumeUntilDone(t, sh, co, 6)
		o.out = co.out
	}
	o.summary = fmt.Sprintf("A %s, B %s, %d resume runs", how(o.a), how(o.b), o.resumes)
	return o
}

func how(r runResult) string {
	if r.killed {
		return "killed"
	}
	return fmt.Sprintf("exit %d", r.code)
}

// checkPG is the invariant of a two-runner scenario: checkInvariant against
// the sandbox's audit, the Idempotency-Key rule of checkKeys, and the
// claims left behind: a row still claimed must be final (a lapsed claim of
// the killed A on a row it settled is harmless), and none may be claimed by
// B, which ended cleanly and must have released every row.
func checkPG(t *testing.T, sh sheet, ledgerURL string, o pgOutcome, sb *sandboxProc) verdict {
	t.Helper()
	rows := ledgerRows(t, ledgerURL)
	v := checkInvariant(sh, rows, sb.audit(t), o.out)
	checkKeys(&v, ledgerURL)
	for _, c := range pgClaims(t, ledgerURL) {
		if _, ours := sh.want[c.id]; !ours {
			continue
		}
		if !ledger.State(c.state).Final() {
			v.addf("%s: left claimed by %s in %s", c.id, c.owner, c.state)
		} else if !o.b.killed && strings.Contains(c.owner, fmt.Sprintf("/%d/", o.pids[1])) {
			v.addf("%s: still claimed by B (%s), which ended", c.id, c.owner)
		}
	}
	switch {
	case !o.b.killed && (o.b.code == 0 || o.b.code == 1):
	case !o.b.killed && o.b.code == 3 && stoppedByOutage(o.b.output):
		// MassPay answered 5xx past the client's retries while B priced
		// its plan or read the balance: B stopped before paying anything,
		// as payrun run must when MassPay cannot be read (exit 3, nothing
		// paid), and the rows went on without it (A, then the resume).
		// Counted on the family's line, not a violation: with 15% of
		// calls failing, four in a row come up about once in 300
		// scenarios.
		bOutages.Add(1)
		t.Logf("runner B stopped on a MassPay outage before paying:\n%s", lastLines(o.b.output, 2))
	default:
		v.addf("runner B, never killed, ended %s:\n%s", how(o.b), lastLines(o.b.output, 10))
	}
	return v
}

// bOutages counts the scenarios where runner B stopped before paying,
// MassPay failing past its retries while B planned (see checkPG).
var bOutages atomic.Int64

// stoppedByOutage reports whether a run's closing error is a MassPay fault
// past the client's retries while it planned or read the balance, before
// any row was paid.
func stoppedByOutage(output string) bool {
	last := lastLines(output, 1)
	return strings.Contains(last, `"exit":3`) && strings.Contains(last, "retry budget exhausted") &&
		(strings.Contains(last, "payrun: plan the run: ") || strings.Contains(last, "payrun: fetch balances: "))
}

// pgClaim is a row's claim columns.
type pgClaim struct{ id, state, owner string }

// pgClaims lists the rows with a claim owner.
func pgClaims(t testing.TB, ledgerURL string) []pgClaim {
	t.Helper()
	db, err := sql.Open("pgx", ledgerURL)
	if err != nil {
		t.Fatalf("open %s: %v", ledgerURL, err)
	}
	defer db.Close()
	rs, err := db.QueryContext(context.Background(), `SELECT client_transfer_id, state, claim_owner FROM rows WHERE claim_owner <> ''`)
	if err != nil {
		t.Fatalf("read claims: %v", err)
	}
	defer rs.Close()
	var cs []pgClaim
	for rs.Next() {
		var c pgClaim
		if err := rs.Scan(&c.id, &c.state, &c.owner); err != nil {
			t.Fatalf("read claims: %v", err)
		}
		cs = append(cs, c)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("read claims: %v", err)
	}
	return cs
}

// isPostgres reports whether a ledger location is a PostgreSQL URL.
func isPostgres(loc string) bool {
	return strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://")
}

// pgMigrated reports whether a runner created the ledger's tables in the
// URL's schema yet.
func pgMigrated(t testing.TB, ledgerURL string) bool {
	t.Helper()
	db, err := sql.Open("pgx", ledgerURL)
	if err != nil {
		t.Fatalf("open %s: %v", ledgerURL, err)
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(context.Background(), `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_name = 'rows'`).Scan(&n)
	if err != nil {
		t.Fatalf("look for the ledger's tables: %v", err)
	}
	return n > 0
}

// delayProxy forwards every request to the sandbox at target after d: the
// runner behind it is the slower of the two.
func delayProxy(t testing.TB, target string, d time.Duration) string {
	t.Helper()
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	// A lost answer (the sandbox drops the connection) reaches B as a 502;
	// it is expected, not news.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(d)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path
}
