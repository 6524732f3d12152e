package console

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// Issue 22 item 3: two consoles behind a load balancer on one ledger share
// sign-ins, sign-outs and back-offs, and a restart signs no one out.
//
// payrun serve opens its ledger read-write without the ledger's Lock (the
// flock is taken only while a run pays), so two serve processes can open
// one ledger file. Each console here has its own *ledger.Ledger on the one
// file, as two processes would: its own connection pools and writer, SQLite
// serialising their writes.

// twin starts a second console on e's ledger file, on its own port, with
// its own data folder.
func (e *env) twin() *env {
	e.t.Helper()
	return startConsole(e.t, e.path, filepath.Join(e.t.TempDir(), "console-b"), e.sandbox, e.opts...)
}

// at is the same person (the same cookie jar) sending their next request to
// console o, as a load balancer may.
func (b *browser) at(o *env) *browser {
	bb := *b
	bb.e = o
	return &bb
}

// sessionCookieOf is the session cookie the browser holds.
func (b *browser) sessionCookieOf() string {
	for _, c := range b.c.Jar.Cookies(mustURL(b.e.t, b.e.http.URL)) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// logTo sends the console's log to buf.
func logTo(buf *syncBuffer) envOption {
	return func(c *Config) { c.Log = zerolog.New(buf) }
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSessionSharedBetweenConsoles: signed in on A, the cookie works on B,
// B's pages' forms are accepted on A (the CSRF token is the session's, not
// the instance's), and signing out on B ends the session on A. Before the
// sessions moved into the ledger, B did not know A's session.
func TestSessionSharedBetweenConsoles(t *testing.T) {
	var logs syncBuffer
	a := newEnv(t, logTo(&logs))
	b := a.twin()
	alice := a.signIn("alice")
	cookie := alice.sessionCookieOf()
	tokenA := alice.csrf

	onB := alice.at(b)
	code, body := onB.get("/")
	if code != http.StatusOK || !strings.Contains(body, "alice") {
		t.Fatalf("console B with the session cookie from A: %d, want alice's home page", code)
	}
	if onB.csrf != tokenA {
		t.Errorf("the session's form token differs between consoles: %q on A, %q on B", tokenA, onB.csrf)
	}

	// Sign out on B, with the token A's page carried.
	resp, _ := onB.post("/signout", url.Values{"csrf": {tokenA}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?msg=signedout" {
		t.Fatalf("sign out on B = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	replay := a.browser()
	replay.c.Jar.SetCookies(mustURL(t, a.http.URL), []*http.Cookie{{Name: sessionCookie, Value: cookie}})
	if code, _ := replay.get("/"); code != http.StatusSeeOther {
		t.Fatalf("console A after the sign-out on B: GET / = %d, want a redirect to sign in", code)
	}
	for _, secret := range []string{cookie, tokenA, testPassword} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the console's log holds a secret (%.6s...)", secret)
		}
	}
}

// TestSigninBackoffSharedBetweenConsoles: failures counted on A hold on B,
// so a load balancer does not multiply a guesser's free attempts by the
// number of consoles.
func TestSigninBackoffSharedBetweenConsoles(t *testing.T) {
	a := newEnv(t)
	b := a.twin()
	guesser := a.browser()
	guesser.get("/signin")
	for range freeFailures {
		guesser.post("/signin", url.Values{"name": {"bob"}, "password": {"not the password"}})
	}
	other := b.browser() // another address would do as well: the name is backing off
	other.get("/signin")
	resp, body := other.post("/signin", url.Values{"name": {"Bob"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed attempts") {
		t.Fatalf("console B, right password after %d failures on A = %d, want 429", freeFailures, resp.StatusCode)
	}
}

// TestParallelGuessesAcrossConsoles: guesses sent at once, half to each
// console, are counted before the hash on both: at most freeFailures of
// them have their password checked.
func TestParallelGuessesAcrossConsoles(t *testing.T) {
	a := newEnv(t)
	b := a.twin()
	ba, bb := a.browser(), b.browser()
	ba.get("/signin")
	bb.get("/signin")
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		checked int
	)
	for i := range 30 {
		br := ba
		if i%2 == 1 {
			br = bb
		}
		csrf := br.csrf
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := br.c.PostForm(br.e.http.URL+"/signin", url.Values{"name": {"carol"}, "password": {fmt.Sprintf("guess %d!!!!!", i)}, "csrf": {csrf}})
			if err != nil {
				t.Error(err)
				return
			}
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			resp.Body.Close()
			if strings.Contains(buf.String(), "Wrong name or password") {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if checked > freeFailures {
		t.Errorf("%d of 30 guesses split between two consoles were checked; want at most %d", checked, freeFailures)
	}
}

// TestSessionSurvivesRestart: a console stopped and started again (a deploy,
// a crash) keeps everyone signed in. Sessions used to live in memory only.
func TestSessionSurvivesRestart(t *testing.T) {
	a := newEnv(t)
	alice := a.signIn("alice")
	a.http.Close()
	a.srv.Close()
	if err := a.ledger.Close(); err != nil {
		t.Fatal(err)
	}
	again := startConsole(t, a.path, a.srv.cfg.DataDir, a.sandbox, a.opts...)
	code, body := alice.at(again).get("/")
	if code != http.StatusOK || !strings.Contains(body, "alice") {
		t.Fatalf("after a restart: GET / = %d, want alice still signed in", code)
	}
}

// TestStoredSessionIsNoCookie: what the ledger file holds of a session (a
// backup, a copied file) cannot sign anyone in: no column holds the cookie
// or the form token, and none of them works as a cookie.
func TestStoredSessionIsNoCookie(t *testing.T) {
	a := newEnv(t)
	alice := a.signIn("alice")
	cookie, token := alice.sessionCookieOf(), alice.csrf
	db, err := sql.Open("sqlite", "file:"+a.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rs, err := db.QueryContext(context.Background(), `SELECT * FROM console_sessions`)
	if err != nil {
		t.Fatalf("read the sessions table: %v", err)
	}
	cols, _ := rs.Columns()
	var values []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if strings.Contains(v.String, cookie) || strings.Contains(v.String, token) {
				t.Errorf("column %s holds the session cookie or its form token", cols[i])
			}
			if cols[i] == "id_hash" && v.String != ledger.SessionIDHash(cookie) {
				t.Errorf("id_hash is not the SHA-256 of the cookie")
			}
			values = append(values, v.String)
		}
	}
	rs.Close()
	if len(values) == 0 {
		t.Fatal("no session row in the ledger file")
	}
	for _, v := range values {
		thief := a.browser()
		thief.c.Jar.SetCookies(mustURL(t, a.http.URL), []*http.Cookie{{Name: sessionCookie, Value: v}})
		if code, _ := thief.get("/"); code != http.StatusSeeOther {
			t.Errorf("a stored value as the session cookie: GET / = %d, want a redirect to sign in", code)
		}
	}
}

// TestSigninReplacesPlantedSession: a session id planted in a browser before
// its owner signs in (fixation) never becomes theirs: sign-in ends it and
// issues a new id, so the planter's copy opens nothing.
func TestSigninReplacesPlantedSession(t *testing.T) {
	a := newEnv(t)
	b := a.twin()
	mallory := a.signIn("vic")
	planted := mallory.sessionCookieOf()
	victim := a.browser()
	onB := victim.at(b) // the victim's sign-in lands on the other console
	onB.get("/signin")
	// Planted while the form is open (a cookie set from a sibling site).
	victim.c.Jar.SetCookies(mustURL(t, a.http.URL), []*http.Cookie{{Name: sessionCookie, Value: planted}})
	resp, body := onB.post("/signin", url.Values{"name": {"bob"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in = %d\n%s", resp.StatusCode, body)
	}
	if got := victim.sessionCookieOf(); got == planted || got == "" {
		t.Fatal("sign-in kept the planted session id")
	}
	if code, _ := mallory.get("/"); code != http.StatusSeeOther {
		t.Errorf("the planted id after the victim signed in: GET / = %d, want a redirect to sign in", code)
	}
	if code, body := victim.get("/"); code != http.StatusOK || !strings.Contains(body, "bob") {
		t.Errorf("the victim's new session on A: %d", code)
	}
}

// TestDisableEndsSessionsOnEveryConsole: payrun user disable ends a user's
// sessions on every console, each of which saw it at a request.
func TestDisableEndsSessionsOnEveryConsole(t *testing.T) {
	a := newEnv(t)
	b := a.twin()
	bobA, bobB := a.signIn("bob"), b.signIn("bob")
	if err := a.ledger.SetConsoleUserDisabled(context.Background(), "bob", true, "test"); err != nil {
		t.Fatal(err)
	}
	if code, _ := bobA.get("/runs"); code != http.StatusSeeOther {
		t.Errorf("disabled bob on A: /runs = %d, want a redirect to sign in", code)
	}
	// A's request ended all of bob's sessions in the ledger, B's too.
	var n int
	db, err := sql.Open("sqlite", "file:"+a.path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*) FROM console_sessions WHERE user_name = 'bob'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d sessions of disabled bob left (%v), want 0", n, err)
	}
	if err := a.ledger.SetConsoleUserDisabled(context.Background(), "bob", false, "test"); err != nil {
		t.Fatal(err)
	}
	if code, _ := bobB.get("/runs"); code != http.StatusSeeOther {
		t.Errorf("bob's session on B, disabled then enabled: /runs = %d, want it ended", code)
	}
}

// childConsoleEnv, set to a ledger path, makes the test binary serve a
// console on that ledger instead of running tests: the second process of
// TestTwoProcessesShareSessions. It prints its address and serves until its
// stdin closes.
const childConsoleEnv = "PAYRUN_TEST_CHILD_CONSOLE"

// childSandboxEnv and childDataDirEnv, when set, give the child console
// the parent's sandbox (its API URL) and a data folder, instead of a
// sandbox of its own and a folder beside the ledger file.
const (
	childSandboxEnv = "PAYRUN_TEST_CHILD_SANDBOX"
	childDataDirEnv = "PAYRUN_TEST_CHILD_DATA_DIR"
)

func runChildConsole(path string) int {
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "child console:", err); return 1 }
	apiURL, dataDir := os.Getenv(childSandboxEnv), os.Getenv(childDataDirEnv)
	if apiURL == "" {
		sb, err := sandbox.Start(sandbox.Config{APIKey: testAPIKey})
		if err != nil {
			return fail(err)
		}
		defer sb.Close()
		apiURL = sb.URL()
	}
	if dataDir == "" {
		dataDir = path + ".child-console"
	}
	client, err := masspay.New(masspay.Config{BaseURL: apiURL, APIKey: testAPIKey})
	if err != nil {
		return fail(err)
	}
	l, err := ledger.Open(context.Background(), path, ledger.Options{})
	if err != nil {
		return fail(err)
	}
	defer l.Close()
	// A short claim lease: once killed, its run lease and row claims
	// lapse in seconds (TestConsoleKilledMidRunAnotherFinishes).
	s, err := New(Config{Ledger: l, API: client, Environment: "sandbox", DataDir: dataDir, Log: zerolog.Nop(), ClaimLease: 2 * time.Second})
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	go http.Serve(ln, s)
	fmt.Println(ln.Addr().String())
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// TestTwoProcessesShareSessions: a second console process on the same
// ledger file (payrun serve takes the ledger's flock only while a run pays,
// so two can open it) honours the first one's sign-in, its sign-out holds
// on the first, and failures counted on it back off the first.
func TestTwoProcessesShareSessions(t *testing.T) {
	a := newEnv(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childConsoleEnv+"="+a.path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child console did not start: %v", err)
	}
	child := &env{t: t, http: &httptest.Server{URL: "http://" + strings.TrimSpace(addr)}}

	alice := a.signIn("alice")
	onChild := alice.at(child)
	if code, body := onChild.get("/"); code != http.StatusOK || !strings.Contains(body, "alice") {
		t.Fatalf("the other process with the cookie from this one: GET / = %d, want alice's page", code)
	}
	if resp, _ := onChild.post("/signout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out on the other process = %d", resp.StatusCode)
	}
	if code, _ := alice.get("/"); code != http.StatusSeeOther {
		t.Fatalf("this process after the sign-out on the other: GET / = %d, want a redirect to sign in", code)
	}

	guesser := child.browser()
	guesser.get("/signin")
	for range freeFailures {
		guesser.post("/signin", url.Values{"name": {"carol"}, "password": {"not the password"}})
	}
	carol := a.browser()
	carol.get("/signin")
	if resp, _ := carol.post("/signin", url.Values{"name": {"carol"}, "password": {testPassword}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password here after %d failures on the other process = %d, want 429", freeFailures, resp.StatusCode)
	}
}

// TestSessionIdleAndMaxAgeFromLedger: the idle TTL and the 12-hour maximum
// hold with sessions in the ledger, on any console: use on B keeps a
// session signed in on A alive.
func TestSessionIdleAndMaxAgeFromLedger(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	a := newEnv(t, func(c *Config) { c.Clock = clk.Now; c.SessionTTL = 30 * time.Minute })
	b := a.twin()
	alice := a.signIn("alice")
	for i, at := range []*env{b, a, b} {
		clk.advance(25 * time.Minute)
		if code, _ := alice.at(at).get("/"); code != http.StatusOK {
			t.Fatalf("use %d, 25 minutes after the last: GET / = %d, want 200", i+1, code)
		}
	}
	clk.advance(31 * time.Minute)
	if code, _ := alice.at(b).get("/"); code != http.StatusSeeOther {
		t.Fatalf("31 minutes idle with a 30-minute TTL: GET / = %d, want a redirect to sign in", code)
	}
	alice = a.signIn("alice")
	for elapsed := time.Duration(0); elapsed < maxSessionAge-20*time.Minute; elapsed += 20 * time.Minute {
		clk.advance(20 * time.Minute)
		if code, _ := alice.get("/"); code != http.StatusOK {
			t.Fatalf("in use, %v after sign-in: GET / = %d", elapsed+20*time.Minute, code)
		}
	}
	clk.advance(20 * time.Minute)
	if code, _ := alice.get("/"); code != http.StatusSeeOther {
		t.Fatalf("in use all along, past %v: GET / = %d, want a redirect to sign in", maxSessionAge, code)
	}
}
