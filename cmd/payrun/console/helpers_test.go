package console

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

func TestMain(m *testing.M) {
	bcryptCost = bcrypt.MinCost // sign-ins in tests need no real work factor
	if path := os.Getenv(childConsoleEnv); path != "" {
		os.Exit(runChildConsole(path)) // TestTwoProcessesShareSessions's second console
	}
	os.Exit(pgtest.Main(m)) // stops the throwaway PostgreSQL, if a test started one
}

// testAPIKey is the sandbox key of the tests: distinctive, so a test can
// search every page for it.
const testAPIKey = "mp-live-key-NEVER-SHOWN-7f3a9c"

// testPassword is every test user's password.
const testPassword = "correct horse battery"

// env is a console over a real ledger file and a real embedded sandbox,
// served on a real loopback port.
type env struct {
	t       *testing.T
	srv     *Server
	http    *httptest.Server
	ledger  *ledger.Ledger
	path    string
	sandbox *sandbox.Server
	opts    []envOption // as started, for a second console on the same ledger

	mu     sync.Mutex
	bodies []string // every page served, for the "never shows the key" check
}

type envOption func(*Config)

// newEnv starts a console with users alice (preparer), bob and carol
// (approvers) and vic (viewer).
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "payrun.db"), opts...)
}

// newEnvAt is newEnv on the ledger at loc: a file path, or a postgres:// URL
// (pgtest.URL).
func newEnvAt(t *testing.T, loc string, opts ...envOption) *env {
	t.Helper()
	dir := t.TempDir()
	sb, err := sandbox.Start(sandbox.Config{APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	e := startConsole(t, loc, filepath.Join(dir, "console"), sb, opts...)
	for name, role := range map[string]ledger.ConsoleRole{"alice": ledger.RolePreparer, "bob": ledger.RoleApprover,
		"carol": ledger.RoleApprover, "vic": ledger.RoleViewer} {
		e.addUser(name, role)
	}
	return e
}

// startConsole opens the ledger at path (with the console's clock, which
// then times sessions and sign-in back-offs too) and serves a console over
// it on a loopback port. Each call is what one payrun serve process has:
// its own *ledger.Ledger, its own server.
func startConsole(t *testing.T, path, dataDir string, sb *sandbox.Server, opts ...envOption) *env {
	t.Helper()
	client, err := masspay.New(masspay.Config{BaseURL: sb.URL(), APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{API: client, Environment: "sandbox", DataDir: dataDir, Log: zerolog.Nop()}
	for _, o := range opts {
		o(&cfg)
	}
	l := cfg.Ledger // a test's own ledger (an old one, say) wins over path
	if l == nil {
		var err error
		l, err = ledger.Open(context.Background(), path, ledger.Options{Clock: cfg.Clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
	}
	cfg.Ledger = l
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := &env{t: t, srv: s, ledger: l, path: path, sandbox: sb, opts: opts}
	e.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{ResponseWriter: w}
		s.ServeHTTP(rec, r)
		e.mu.Lock()
		e.bodies = append(e.bodies, rec.buf.String())
		e.mu.Unlock()
	}))
	t.Cleanup(e.http.Close)
	return e
}

func (e *env) addUser(name string, role ledger.ConsoleRole) {
	e.t.Helper()
	h, err := HashPassword(testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.ledger.AddConsoleUser(context.Background(), ledger.ConsoleUser{Name: name, Role: role, PasswordHash: h, CreatedBy: "test"}); err != nil {
		e.t.Fatal(err)
	}
}

// recorder keeps a copy of what a handler wrote.
type recorder struct {
	http.ResponseWriter
	buf bytes.Buffer
}

// Unwrap lets http.ResponseController reach the connection (the console
// sets read deadlines through it).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Write(b []byte) (int, error) {
	r.buf.Write(b)
	return r.ResponseWriter.Write(b)
}

// browser is one person's cookie jar against the console. It does not follow
// redirects, so tests see each answer.
type browser struct {
	e    *env
	c    *http.Client
	csrf string // the session's form token, read from the last page
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches path and returns status and body; it remembers the page's
// CSRF token.
func (b *browser) get(path string) (int, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.http.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) (int, string) {
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(body)
}

// post submits a form; the session's CSRF token is added unless the form
// sets "csrf" itself.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	resp, err := b.c.PostForm(b.e.http.URL+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	_, body := b.read(resp)
	return resp, body
}

// signIn signs in as name.
func (e *env) signIn(name string) *browser {
	e.t.Helper()
	b := e.browser()
	b.get("/signin")
	resp, body := b.post("/signin", url.Values{"name": {name}, "password": {testPassword}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in as %s: %d\n%s", name, resp.StatusCode, body)
	}
	b.get("/")
	return b
}

// upload posts a sheet file (its bytes, under name) with the session's token
// (or csrf when given).
func (b *browser) upload(name string, content []byte, csrf ...string) (*http.Response, string) {
	b.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	tok := b.csrf
	if len(csrf) > 0 {
		tok = csrf[0]
	}
	mw.WriteField("csrf", tok)
	fw, _ := mw.CreateFormFile("sheet", name)
	fw.Write(content)
	mw.Close()
	resp, err := b.c.Post(b.e.http.URL+"/upload", mw.FormDataContentType(), &buf)
	if err != nil {
		b.e.t.Fatal(err)
	}
	_, body := b.read(resp)
	return resp, body
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// smallSheet is a valid three-row sheet: two loads and a payee on a
// compliance hold.
func smallSheet(suffix string) []byte {
	return []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\n" +
		"T-" + suffix + "-1,u-1,Ana,Silva,ana@example.com,USA,100.00\n" +
		"T-" + suffix + "-2,u-2,Ben,Okafor,ben@example.com,USA,250.50\n" +
		"T-" + suffix + "-3,u-3,Marta,Quintero,marta@kyc-hold.example,USA,75.25\n")
}

// uploadPlan uploads a sheet as b and returns the plan page's path.
func (b *browser) uploadPlan(name string, content []byte) string {
	b.e.t.Helper()
	resp, body := b.upload(name, content)
	if resp.StatusCode != http.StatusSeeOther {
		b.e.t.Fatalf("upload %s: %d\n%s", name, resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "/plans/") {
		b.e.t.Fatalf("upload redirected to %q", loc)
	}
	b.get(loc)
	return loc
}

// consoleEvents returns the messages of the ledger's console events.
func (e *env) consoleEvents() []string {
	var out []string
	for ev, err := range e.ledger.Events(context.Background(), ledger.EventFilter{Kind: ledger.EventConsole}) {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ev.Message)
	}
	return out
}

func hasEvent(events []string, substr string) bool {
	for _, m := range events {
		if strings.Contains(m, substr) {
			return true
		}
	}
	return false
}
