package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()

	// Pages need a session.
	if code, _ := b.get("/runs"); code != http.StatusSeeOther {
		t.Fatalf("GET /runs signed out = %d, want 303 to /signin", code)
	}
	code, body := b.get("/signin")
	if code != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("GET /signin = %d\n%s", code, body)
	}

	// A sign-in without the form's token is refused before the password
	// is even looked at.
	resp, _ := b.post("/signin", url.Values{"name": {"alice"}, "password": {testPassword}, "csrf": {"forged"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in with a forged token = %d, want 403", resp.StatusCode)
	}
	resp, body = b.post("/signin", url.Values{"name": {"alice"}, "password": {"wrong password!"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong name or password") {
		t.Fatalf("sign-in with a wrong password = %d\n%s", resp.StatusCode, body)
	}
	resp, _ = b.post("/signin", url.Values{"name": {"nobody"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-in as an unknown user = %d, want 401", resp.StatusCode)
	}

	b.get("/signin")
	resp, _ = b.post("/signin", url.Values{"name": {"alice"}, "password": {testPassword}, "next": {"//evil.example/x"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign-in = %d to %q; want 303 to / (an off-site next is dropped)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Secure || len(sc.Value) < 40 {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Strict, not Secure without TLS, a long random value", sc)
	}
	if code, body := b.get("/"); code != http.StatusOK || !strings.Contains(body, "alice") || !strings.Contains(body, `name="sheet"`) {
		t.Fatalf("home after sign-in = %d\n%s", code, body)
	}

	// Sign-out ends the session on the server, not just in the browser.
	resp, _ = b.post("/signout", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out = %d", resp.StatusCode)
	}
	replay := e.browser()
	replay.c.Jar.SetCookies(mustURL(t, e.http.URL), []*http.Cookie{{Name: sessionCookie, Value: sc.Value}})
	if code, _ := replay.get("/"); code != http.StatusSeeOther {
		t.Fatalf("old session cookie after sign-out = %d, want a redirect to sign in", code)
	}

	evs := e.consoleEvents()
	for _, want := range []string{"failed sign-in as alice", "failed sign-in as nobody", "alice signed in (preparer)", "alice signed out"} {
		if !hasEvent(evs, want) {
			t.Errorf("no ledger event %q in %q", want, evs)
		}
	}
}

func TestSignInSecureCookieUnderTLS(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SecureCookies = true })
	b := e.browser()
	b.get("/signin")
	// The test server is plain HTTP, so the jar will not send a Secure
	// cookie back; what matters is how the console set it.
	resp, _ := b.post("/signin", url.Values{"name": {"bob"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in = %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && (!c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode) {
			t.Fatalf("session cookie under TLS = %+v; want Secure, HttpOnly, SameSite=Strict", c)
		}
	}
}

func TestSignInLimiter(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/signin")
	for range freeFailures {
		b.post("/signin", url.Values{"name": {"bob"}, "password": {"not the password"}})
	}
	resp, body := b.post("/signin", url.Values{"name": {"bob"}, "password": {testPassword}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed attempts") {
		t.Fatalf("right password after %d failures = %d\n%s", freeFailures, resp.StatusCode, body)
	}
	if !hasEvent(e.consoleEvents(), "sign-in as bob refused: too many failed attempts") {
		t.Fatal("the blocked sign-in is not in the ledger")
	}
}

func TestCSRFRefusal(t *testing.T) {
	e := newEnv(t)
	alice := e.signIn("alice")
	bob := e.signIn("bob")
	plan := alice.uploadPlan("june.csv", smallSheet("csrf"))

	// Upload without the token, with another session's token, and from
	// another site: all refused, and nothing planned.
	for name, tok := range map[string]string{"missing": "", "other session": bob.csrf, "made up": "AAAA"} {
		resp, body := alice.upload("june2.csv", smallSheet("csrf2"), tok)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "security token") {
			t.Errorf("upload with %s token = %d\n%s", name, resp.StatusCode, body)
		}
	}
	plans, _ := e.ledger.Plans(context.Background(), ledger.PlanFilter{})
	if len(plans) != 1 {
		t.Fatalf("%d plans recorded, want only the one uploaded with a token", len(plans))
	}

	resp, _ := bob.post(plan+"/approve", url.Values{"csrf": {alice.csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("approve with another session's token = %d, want 403", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+plan+"/approve", strings.NewReader("csrf="+url.QueryEscape(bob.csrf)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	xresp, err := bob.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	xresp.Body.Close()
	if xresp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site approve = %d, want 403", xresp.StatusCode)
	}
	p, _ := e.ledger.Plan(context.Background(), 1)
	if p.Status != ledger.PlanPending {
		t.Fatalf("plan after refused approvals is %s, want pending", p.Status)
	}
}
