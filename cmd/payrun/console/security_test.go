package console

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/payrun/payrun/ledger"
)

// The tests of issue 18's console items: each reproduces an attack from the
// outside review against a real console on a loopback port.

// TestParallelGuessesCountedBeforeHash: guesses sent at once must not all
// reach the password check. Before the fix the block was checked before the
// hash and the failure recorded after it, so 60 parallel guesses were all
// checked (and a right one among them signed in).
func TestParallelGuessesCountedBeforeHash(t *testing.T) {
	e := newEnv(t)
	// pat's hash has the real work factor, so each check takes as long as
	// in production and the guesses overlap.
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ledger.AddConsoleUser(context.Background(), ledger.ConsoleUser{Name: "pat", Role: ledger.RoleApprover, PasswordHash: h, CreatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.get("/signin")
	form := func(pw string) url.Values {
		return url.Values{"name": {"pat"}, "password": {pw}, "csrf": {b.csrf}}
	}
	var (
		wg                sync.WaitGroup
		checked, signedIn atomic.Int32
		guesses           = 60
		rightAt           = 45 // the right password, sent while the others are in flight
		statusMu          sync.Mutex
		statuses          = map[int]int{}
		postForm          = func(f url.Values) (*http.Response, error) { return b.c.PostForm(e.http.URL+"/signin", f) }
		countAnswer       = func(resp *http.Response, err error) {
			if err != nil {
				t.Error(err)
				return
			}
			// Not b.read: it keeps the page's CSRF token in b, which 60
			// goroutines must not write at once.
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body := string(raw)
			statusMu.Lock()
			statuses[resp.StatusCode]++
			statusMu.Unlock()
			if strings.Contains(body, "Wrong name or password") {
				checked.Add(1)
			}
			if resp.StatusCode == http.StatusSeeOther {
				signedIn.Add(1)
			}
		}
	)
	for i := range guesses {
		if i == rightAt {
			// The right password goes out once the free failures are
			// spent, while later guesses are still in flight: on a busy
			// machine a fixed sleep let it be among the first five
			// answered, which may rightly sign in.
			for deadline := time.Now().Add(10 * time.Second); checked.Load() < freeFailures && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
		}
		pw := "wrong guess number " + string(rune('A'+i%26)) + string(rune('a'+i/26))
		if i == rightAt {
			pw = testPassword
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			countAnswer(postForm(form(pw)))
		}()
	}
	wg.Wait()
	if n := checked.Load(); n > freeFailures {
		t.Errorf("%d of %d parallel guesses had their password checked; want at most %d (statuses %v)", n, guesses, freeFailures, statuses)
	}
	if signedIn.Load() != 0 {
		t.Errorf("the right password among %d parallel guesses signed in (statuses %v)", guesses, statuses)
	}
	resp, body := b.post("/signin", form(testPassword))
	if resp.StatusCode == http.StatusSeeOther {
		t.Fatalf("right password straight after %d guesses signed in\n%s", guesses, body)
	}
}

// fakeClock is a settable clock for the console.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestSigninBackoffNotHardLock: five bad guesses used to lock a name for 15
// minutes (anyone could lock the approver out). Now each further attempt
// waits a back-off that doubles, and the right password gets in once it has
// passed.
func TestSigninBackoffNotHardLock(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	e := newEnv(t, func(c *Config) { c.Clock = clk.Now })
	b := e.browser()
	b.get("/signin")
	try := func(pw string) (int, string) {
		resp, body := b.post("/signin", url.Values{"name": {"bob"}, "password": {pw}})
		return resp.StatusCode, body
	}
	for i := range freeFailures {
		if code, body := try("not the password"); code != http.StatusUnauthorized {
			t.Fatalf("free failure %d = %d\n%s", i+1, code, body)
		}
	}
	if code, body := try(testPassword); code == http.StatusSeeOther || !strings.Contains(body, "Too many failed attempts") {
		t.Fatalf("right password at once after %d failures = %d, want it refused\n%s", freeFailures, code, body)
	}
	clk.advance(backoffBase)
	if code, body := try("still not it"); !strings.Contains(body, "Wrong name or password") {
		t.Fatalf("a guess %v after the 5th failure = %d, want it checked, not a 15-minute lock\n%s", backoffBase, code, body)
	}
	// The next back-off is twice as long.
	clk.advance(backoffBase)
	if code, _ := try(testPassword); code == http.StatusSeeOther {
		t.Fatalf("right password %v after the 6th failure = %d, want 429 (back-off %v)", backoffBase, code, 2*backoffBase)
	}
	clk.advance(backoffBase)
	if code, body := try(testPassword); code != http.StatusSeeOther {
		t.Fatalf("right password after the back-off = %d, want signed in (the name is not locked for 15 minutes)\n%s", code, body)
	}
	if !hasEvent(e.consoleEvents(), "sign-in as bob refused: too many failed attempts") {
		t.Error("the refused sign-in is not in the ledger")
	}
	if backoff(freeFailures+20, freeFailures) != backoffMax {
		t.Errorf("back-off does not stop growing at %v", backoffMax)
	}
}

// TestSigninLimitPerAddress: one address guessing a different name each time
// was never slowed. Now the address has its own count.
func TestSigninLimitPerAddress(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/signin")
	for i := range freeFailuresAddr {
		resp, _ := b.post("/signin", url.Values{"name": {"guess" + strings.Repeat("x", i)}, "password": {"not the password"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d", i+1, resp.StatusCode)
		}
	}
	resp, body := b.post("/signin", url.Values{"name": {"carol"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sign-in from an address with %d failures = %d, want 429\n%s", freeFailuresAddr, resp.StatusCode, body)
	}
	// A flood of refused attempts is one event, not a ledger write each.
	for i := range 30 {
		b.post("/signin", url.Values{"name": {"flood" + strings.Repeat("y", i%3)}, "password": {"not the password"}})
	}
	n := 0
	for _, m := range e.consoleEvents() {
		if strings.Contains(m, "refused: too many failed attempts") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d refusal events for 31 refused attempts, want 1", n)
	}
}

// TestSigninNextOpenRedirect: /signin?next=/%09/evil.example/x used to send
// the browser to /\t/evil.example/x, which it reads as //evil.example/x.
func TestSigninNextOpenRedirect(t *testing.T) {
	e := newEnv(t)
	nextField := func(body string) string {
		const mark = `name="next" value="`
		i := strings.Index(body, mark)
		if i < 0 {
			t.Fatalf("no next field in\n%s", body)
		}
		v := body[i+len(mark):]
		return v[:strings.IndexByte(v, '"')]
	}
	for _, next := range []string{
		"/%09/evil.example/x", "/%0A/evil.example/x", "/%0D/evil.example", "/%5Cevil.example", "/%5C/evil.example",
		"/%20/evil.example", "%2F%2Fevil.example", "/%2F/evil.example", "https://evil.example/", "//evil.example",
		"/%00/evil.example", "javascript:alert(1)", "/%E2%80%A8/evil.example",
	} {
		b := e.browser()
		_, page := b.get("/signin?next=" + next)
		field := strings.ReplaceAll(nextField(page), "&#39;", "'")
		resp, body := b.post("/signin", url.Values{"name": {"alice"}, "password": {testPassword}, "next": {field}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Errorf("next=%s: sign-in = %d to %q, want 303 to /\n%s", next, resp.StatusCode, resp.Header.Get("Location"), body)
		}
		// Posted straight, unescaped by the page.
		raw, _ := url.QueryUnescape(next)
		b = e.browser()
		b.get("/signin")
		resp, _ = b.post("/signin", url.Values{"name": {"alice"}, "password": {testPassword}, "next": {raw}})
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("next %q posted: redirect to %q, want /", raw, loc)
		}
	}
	// The console's own links still come back.
	b := e.browser()
	b.get("/signin")
	resp, _ := b.post("/signin", url.Values{"name": {"alice"}, "password": {testPassword}, "next": {"/runs/1?show=needs-action&page=2"}})
	if loc := resp.Header.Get("Location"); loc != "/runs/1?show=needs-action&page=2" {
		t.Errorf("a local next: redirect to %q", loc)
	}
}

// TestSessionEndsOnPasswordChange: a session opened before payrun user
// passwd (in another process, through the ledger) used to live on.
func TestSessionEndsOnPasswordChange(t *testing.T) {
	e := newEnv(t)
	alice := e.signIn("alice")
	h, err := HashPassword("a brand new passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ledger.SetConsolePassword(context.Background(), "alice", h, "test"); err != nil {
		t.Fatal(err)
	}
	if code, _ := alice.get("/"); code != http.StatusSeeOther {
		t.Fatalf("home after a password change = %d, want a redirect to sign in", code)
	}
	// Signing in with the new password works.
	b := e.browser()
	b.get("/signin")
	if resp, body := b.post("/signin", url.Values{"name": {"alice"}, "password": {"a brand new passphrase"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password = %d\n%s", resp.StatusCode, body)
	}
}

// TestSigninSlowBodyTimesOut: the console's 5-minute read timeout (sized for
// a large upload over a slow link) used to apply to /signin too, so a client
// trickling a sign-in form held a connection for minutes.
func TestSigninSlowBodyTimesOut(t *testing.T) {
	e := newEnv(t)
	e.srv.formReadTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// As payrun serve configures it.
	hs := &http.Server{Handler: e.srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, WriteTimeout: 5 * time.Minute}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := "csrf=x&name=alice&password="
	// Promise a longer body than sent, as a slow client would.
	c.Write([]byte("POST /signin HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: 4000\r\n\r\n" + body))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		resp.Body.Close()
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("a trickled sign-in form still held the connection after %v", time.Since(start).Round(time.Millisecond))
	}
}

// TestResultsPageSheetColumnsCannotPoseAsPayrunColumns: a sheet's own
// "result" and "kyc_upload_link" columns used to take over the results page:
// PAID shown on a row that needs action, the "needs action" filter empty, and
// the sheet's phishing link the clickable KYC link.
func TestResultsPageSheetColumnsCannotPoseAsPayrunColumns(t *testing.T) {
	e := newEnv(t)
	sheet := []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount,result,kyc_upload_link\n" +
		"T-col-1,u-1,Ana,Silva,ana@example.com,USA,100.00,PAID,\n" +
		"T-col-3,u-3,Marta,Quintero,marta@kyc-hold.example,USA,75.25,PAID,https://evil.example/phish\n")
	alice, plan := approvedPlan(e, sheet)
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run = %d\n%s", resp.StatusCode, body)
	}
	runPath := resp.Header.Get("Location")
	waitRun(t, alice, runPath)

	_, page := alice.get(runPath)
	for _, want := range []string{"<th>sheet:result</th>", "<th>sheet:kyc_upload_link</th>", `<span class="badge st-needs-action">NEEDS_ACTION</span>`,
		`class="kyc" href="https://sandbox.masspay.example/kyc/upload/`} {
		if !strings.Contains(page, want) {
			t.Errorf("results page lacks %q", want)
		}
	}
	if strings.Contains(page, `href="https://evil.example`) {
		t.Error("the sheet's link is clickable on the results page")
	}
	if strings.Contains(page, "st-paid") {
		t.Error("the results page shows a PAID badge; no row was paid (a load is LOADED, the hold NEEDS_ACTION)")
	}
	if strings.Count(page, "<th>result</th>") != 1 || strings.Count(page, "<th>kyc_upload_link</th>") != 1 {
		t.Error("the results page has payrun's columns more than once")
	}
	_, needs := alice.get(runPath + "?show=needs-action")
	if !strings.Contains(needs, ">T-col-3<") || strings.Contains(needs, ">T-col-1<") {
		t.Errorf("needs-action filter shows the wrong rows\n%s", needs)
	}
}

// TestDisabledOrRemovedUserSignedOut: payrun user disable and remove take a
// person's access away at once, open sessions included, and a disabled user
// cannot sign in until enabled.
func TestDisabledOrRemovedUserSignedOut(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob, vic := e.signIn("bob"), e.signIn("vic")
	if err := e.ledger.SetConsoleUserDisabled(ctx, "bob", true, "test"); err != nil {
		t.Fatal(err)
	}
	if err := e.ledger.RemoveConsoleUser(ctx, "vic", "test"); err != nil {
		t.Fatal(err)
	}
	if code, _ := bob.get("/runs"); code != http.StatusSeeOther {
		t.Errorf("disabled bob's open session: /runs = %d, want a redirect to sign in", code)
	}
	if code, _ := vic.get("/runs"); code != http.StatusSeeOther {
		t.Errorf("removed vic's open session: /runs = %d, want a redirect to sign in", code)
	}
	b := e.browser()
	b.get("/signin")
	resp, body := b.post("/signin", url.Values{"name": {"bob"}, "password": {testPassword}})
	if resp.StatusCode == http.StatusSeeOther || !strings.Contains(body, "disabled") {
		t.Fatalf("disabled bob signing in = %d\n%s", resp.StatusCode, body)
	}
	if err := e.ledger.SetConsoleUserDisabled(ctx, "bob", false, "test"); err != nil {
		t.Fatal(err)
	}
	e.signIn("bob")
}
