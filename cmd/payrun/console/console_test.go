package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch"
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

func TestRoles(t *testing.T) {
	e := newEnv(t)
	vic := e.signIn("vic")
	alice := e.signIn("alice")
	plan := alice.uploadPlan("june.csv", smallSheet("roles"))

	code, body := vic.get("/")
	if code != http.StatusOK || strings.Contains(body, `name="sheet"`) {
		t.Fatalf("viewer's home = %d, upload form shown: %v", code, strings.Contains(body, `name="sheet"`))
	}
	if resp, _ := vic.upload("x.csv", smallSheet("v")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer upload = %d, want 403", resp.StatusCode)
	}
	vic.get(plan)
	if resp, _ := vic.post(plan+"/approve", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer approve = %d, want 403", resp.StatusCode)
	}
	if resp, _ := vic.post(plan+"/run", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer run = %d, want 403", resp.StatusCode)
	}
	// A preparer prepares; approving is an approver's.
	code, body = alice.get(plan)
	if code != http.StatusOK || strings.Contains(body, `id="approve"`) {
		t.Fatalf("preparer's plan page = %d, approve button shown: %v", code, strings.Contains(body, `id="approve"`))
	}
	if resp, _ := alice.post(plan+"/approve", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("preparer approve = %d, want 403", resp.StatusCode)
	}
	if resp, _ := alice.post(plan+"/run", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("run of a pending plan = %d, want 409", resp.StatusCode)
	}
	if p, _ := e.ledger.Plan(context.Background(), 1); p.Status != ledger.PlanPending {
		t.Fatalf("plan is %s after refused approvals", p.Status)
	}
	// Viewers read everything.
	for _, path := range []string{"/runs", plan} {
		if code, _ := vic.get(path); code != http.StatusOK {
			t.Errorf("viewer GET %s = %d", path, code)
		}
	}
}

func TestSelfApprovalRefused(t *testing.T) {
	e := newEnv(t)
	carol := e.signIn("carol") // an approver who also prepares
	plan := carol.uploadPlan("june.csv", smallSheet("self"))
	code, body := carol.get(plan)
	if code != http.StatusOK || strings.Contains(body, `id="approve"`) || !strings.Contains(body, "someone else must approve") {
		t.Fatalf("preparer-approver's own plan page = %d; approve button shown or no notice\n%s", code, body)
	}
	resp, body := carol.post(plan+"/approve", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "You prepared this plan") {
		t.Fatalf("self-approval = %d\n%s", resp.StatusCode, body)
	}
	// The ledger is the rule's keeper too: even past the page, no.
	if _, err := e.ledger.ApprovePlan(context.Background(), 1, "CAROL", false); err == nil {
		t.Fatal("ledger approved a plan for its preparer")
	}
	if p, _ := e.ledger.Plan(context.Background(), 1); p.Status != ledger.PlanPending {
		t.Fatalf("plan is %s after self-approval, want pending", p.Status)
	}
	if !hasEvent(e.consoleEvents(), "carol tried to approve plan 1, which they prepared; refused") {
		t.Fatalf("refusal not in the ledger: %q", e.consoleEvents())
	}

	bob := e.signIn("bob")
	bob.get(plan)
	resp, _ = bob.post(plan+"/approve", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approval by another approver = %d", resp.StatusCode)
	}
	p, _ := e.ledger.Plan(context.Background(), 1)
	if p.Status != ledger.PlanApproved || p.DecidedBy != "bob" || p.PreparedBy != "carol" {
		t.Fatalf("plan after approval = %+v", p)
	}
	// A decision is final.
	resp, _ = bob.post(plan+"/approve", nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("second approval = %d, want 409", resp.StatusCode)
	}
}

func TestReject(t *testing.T) {
	e := newEnv(t)
	alice := e.signIn("alice")
	plan := alice.uploadPlan("june.csv", smallSheet("rej"))
	bob := e.signIn("bob")
	bob.get(plan)
	resp, _ := bob.post(plan+"/reject", url.Values{"reason": {"wrong month"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject = %d", resp.StatusCode)
	}
	p, _ := e.ledger.Plan(context.Background(), 1)
	if p.Status != ledger.PlanRejected || p.Reason != "wrong month" || p.DecidedBy != "bob" {
		t.Fatalf("plan after rejection = %+v", p)
	}
	alice.get(plan)
	if resp, _ := alice.post(plan+"/run", nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("run of a rejected plan = %d, want 409", resp.StatusCode)
	}
}

func TestUploadValidationReport(t *testing.T) {
	e := newEnv(t)
	alice := e.signIn("alice")
	resp, body := alice.upload("mistakes.csv", sample(t, "mistakes.csv"))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("upload of a sheet with mistakes = %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{"mistakes.csv", "Nothing was planned or paid", ">Row</th>", "<th>Column</th>"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every error by row and column: as many table rows as problems.
	if n := strings.Count(body, `class="sev-error"`); n < 5 {
		t.Errorf("report shows %d errors; the sample has more\n%s", n, body)
	}
	if plans, _ := e.ledger.Plans(context.Background(), ledger.PlanFilter{}); len(plans) != 0 {
		t.Fatalf("a sheet with mistakes was planned: %+v", plans)
	}
	if resp, _ := alice.upload("notes.txt", []byte("hello")); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("upload of a .txt = %d, want 415", resp.StatusCode)
	}
	if !hasEvent(e.consoleEvents(), "alice uploaded mistakes.csv") {
		t.Fatal("upload not in the ledger")
	}
}

func TestUploadTooLarge(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxUpload = 4 << 10 })
	alice := e.signIn("alice")
	big := append(smallSheet("big"), bytes.Repeat([]byte("T-x,u,A,B,a@example.com,USA,1.00\n"), 4000)...)
	resp, body := alice.upload("big.csv", big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than this console accepts") {
		t.Fatalf("oversized upload = %d\n%s", resp.StatusCode, body)
	}
	if plans, _ := e.ledger.Plans(context.Background(), ledger.PlanFilter{}); len(plans) != 0 {
		t.Fatal("an oversized upload was planned")
	}
}

// approvedPlan uploads a sheet as alice and has bob approve it.
func approvedPlan(e *env, sheet []byte) (alice *browser, plan string) {
	e.t.Helper()
	alice = e.signIn("alice")
	plan = alice.uploadPlan("june.csv", sheet)
	bob := e.signIn("bob")
	bob.get(plan)
	if resp, body := bob.post(plan+"/approve", nil); resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("approve = %d\n%s", resp.StatusCode, body)
	}
	alice.get(plan)
	return alice, plan
}

func TestRunRefusedWhileLedgerLocked(t *testing.T) {
	e := newEnv(t)
	alice, plan := approvedPlan(e, smallSheet("lock"))

	// A cron run in another process holds the ledger: a second open of
	// the same file takes the same flock.
	other, err := ledger.Open(context.Background(), e.path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lk, err := other.Lock(context.Background(), ledger.LockOwner{Command: "payrun run --yes /srv/inbox/june.xlsx"})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "The ledger is in use") ||
		!strings.Contains(body, "payrun run --yes /srv/inbox/june.xlsx") {
		t.Fatalf("run while locked = %d\n%s", resp.StatusCode, body)
	}
	if runs, _ := e.ledger.Runs(context.Background()); len(runs) != 0 {
		t.Fatalf("a run was begun while the ledger was locked: %+v", runs)
	}
	if !hasEvent(e.consoleEvents(), "alice asked to run plan 1; not started") {
		t.Fatalf("refused run not in the ledger: %q", e.consoleEvents())
	}

	// Once the cron run is done, the same button works.
	lk.Release()
	resp, body = alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run after the lock was released = %d\n%s", resp.StatusCode, body)
	}
	waitRun(t, alice, resp.Header.Get("Location"))
}

// waitRun polls a run's progress JSON until it ends.
func waitRun(t *testing.T, b *browser, runPath string) progressJSON {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := b.get(runPath + "/progress")
		if code != http.StatusOK {
			t.Fatalf("progress = %d\n%s", code, body)
		}
		var p progressJSON
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("progress JSON: %v\n%s", err, body)
		}
		if !p.Running {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("run still running after 60s: %+v", p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRunToResults(t *testing.T) {
	e := newEnv(t)
	alice, plan := approvedPlan(e, smallSheet("run"))
	code, body := alice.get(plan)
	if code != http.StatusOK || !strings.Contains(body, `id="run"`) || !strings.Contains(body, "425.75 USD") {
		t.Fatalf("approved plan page = %d (want the run button and the total 425.75 USD)\n%s", code, body)
	}
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run = %d\n%s", resp.StatusCode, body)
	}
	runPath := resp.Header.Get("Location")
	p := waitRun(t, alice, runPath)
	if p.Total != 3 || p.Done != 3 || p.Status != string(ledger.RunFinished) {
		t.Fatalf("final progress = %+v", p)
	}

	code, body = alice.get(runPath)
	if code != http.StatusOK {
		t.Fatalf("results page = %d", code)
	}
	for _, want := range []string{`id="results"`, "<th>client_transfer_id</th>", "<th>kyc_upload_link</th>", "<th>result</th>",
		`class="kyc" href="https://sandbox.masspay.example/kyc/upload/`, "T-run-1", "LOADED", "NEEDS_ACTION", `href="/runs/1/results.xlsx"`} {
		if !strings.Contains(body, want) {
			t.Errorf("results page lacks %q", want)
		}
	}
	// The columns a person reads come first, in the workbook's order: the
	// payee and amount beside the result, not after the sheet's columns.
	if head := resultsHeaderCells(body); strings.Join(head[:min(len(head), 8)], "|") != strings.Join(batch.FrontColumns, "|") {
		t.Errorf("results table starts with %q, want %q", head[:min(len(head), 8)], batch.FrontColumns)
	}
	_, needs := alice.get(runPath + "?show=needs-action")
	if !strings.Contains(needs, "T-run-3") || strings.Contains(needs, ">T-run-1<") {
		t.Errorf("needs-action filter shows the wrong rows\n%s", needs)
	}

	// The workbook, written from the ledger.
	wb, err := alice.c.Get(e.http.URL + runPath + "/results.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(wb.Body)
	wb.Body.Close()
	if wb.StatusCode != http.StatusOK || !bytes.HasPrefix(buf.Bytes(), []byte("PK")) ||
		!strings.Contains(wb.Header.Get("Content-Disposition"), "june.results.xlsx") {
		t.Fatalf("download = %d %q, %d bytes", wb.StatusCode, wb.Header.Get("Content-Disposition"), buf.Len())
	}

	// The runs list and a row's trail.
	_, runs := alice.get("/runs")
	if !strings.Contains(runs, "Run 1") || !strings.Contains(runs, "alice (console)") || !strings.Contains(runs, "425.75 USD") {
		t.Errorf("runs list lacks the run, its operator or its total\n%s", runs)
	}
	code, trail := alice.get("/row?id=T-run-3")
	if code != http.StatusOK || !strings.Contains(trail, "Event trail") || !strings.Contains(trail, "NEEDS_ACTION") ||
		!strings.Contains(trail, "https://sandbox.masspay.example/kyc/upload/") {
		t.Errorf("row trail = %d\n%s", code, trail)
	}

	evs := e.consoleEvents()
	for _, want := range []string{"alice started run 1 of plan 1 (june.csv, approved by bob)", "alice downloaded the results of run 1"} {
		if !hasEvent(evs, want) {
			t.Errorf("no ledger event %q in %q", want, evs)
		}
	}
	// The run records who approved what it paid.
	var approval bool
	for ev, err := range e.ledger.Events(context.Background(), ledger.EventFilter{RunID: 1, Kind: ledger.EventApproval}) {
		if err != nil {
			t.Fatal(err)
		}
		approval = approval || strings.Contains(ev.Message, "prepared by alice and approved by bob")
	}
	if !approval {
		t.Error("the run has no approval event")
	}

	// Running the same approved sheet again pays nobody twice.
	alice.get(plan)
	resp, _ = alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second run = %d", resp.StatusCode)
	}
	waitRun(t, alice, resp.Header.Get("Location"))
	var loads int
	for ev, err := range e.ledger.Events(context.Background(), ledger.EventFilter{TransferID: "T-run-1"}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.To == ledger.StateLoaded {
			loads++
		}
	}
	if loads != 1 {
		t.Fatalf("T-run-1 loaded %d times over two runs, want 1", loads)
	}

	e.assertNoSecret()
}

// assertNoSecret checks that no page ever served holds the API key.
func (e *env) assertNoSecret() {
	e.t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.bodies) < 10 {
		e.t.Fatalf("only %d pages recorded", len(e.bodies))
	}
	for _, b := range e.bodies {
		if strings.Contains(b, testAPIKey) {
			e.t.Fatalf("a page shows the API key:\n%s", b)
		}
	}
}

// TestResultsPages: a run with more rows than a page holds shows them page by
// page, every row once, the filter kept across pages.
func TestResultsPages(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ResultsPageRows = 2 })
	alice, plan := approvedPlan(e, smallSheet("pg"))
	alice.get(plan)
	resp, _ := alice.post(plan+"/run", nil)
	runPath := resp.Header.Get("Location")
	waitRun(t, alice, runPath)

	_, p1 := alice.get(runPath)
	_, p2 := alice.get(runPath + "?page=2")
	for _, c := range []struct{ page, want, not, paging string }{
		{p1, ">T-pg-1<", ">T-pg-3<", "Rows 1–2 of 3 (page 1 of 2)"},
		{p2, ">T-pg-3<", ">T-pg-1<", "Rows 3–3 of 3 (page 2 of 2)"},
	} {
		if !strings.Contains(c.page, c.want) || strings.Contains(c.page, c.not) || !strings.Contains(c.page, c.paging) {
			t.Errorf("page should show %s, not %s, and say %q:\n%s", c.want, c.not, c.paging, c.page)
		}
	}
	if !strings.Contains(p1, `href="/runs/1?page=2" id="page-next"`) || strings.Contains(p1, `id="page-prev"`) {
		t.Errorf("page 1 links wrong:\n%s", p1)
	}
	if !strings.Contains(p2, `href="/runs/1" id="page-prev"`) || strings.Contains(p2, `id="page-next"`) {
		t.Errorf("page 2 links wrong:\n%s", p2)
	}
	// Needs action: the one row on a KYC hold fits one page: no paging.
	_, na := alice.get(runPath + "?show=needs-action")
	if strings.Contains(na, `id="paging"`) {
		t.Errorf("needs-action page pages:\n%s", na)
	}
}

func TestSetup(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SetupToken = "setup-token-0123456789" })
	b := e.browser()
	// Users exist already (newEnv adds them): setup is closed.
	if code, _ := b.get("/setup?token=setup-token-0123456789"); code != http.StatusNotFound {
		t.Fatalf("setup with users present = %d, want 404", code)
	}

	fresh := newEmptyEnv(t, "setup-token-0123456789")
	b = fresh.browser()
	if code, _ := b.get("/setup?token=wrong"); code != http.StatusNotFound {
		t.Fatalf("setup with a wrong token = %d, want 404", code)
	}
	if code, body := b.get("/setup?token=setup-token-0123456789"); code != http.StatusOK {
		t.Fatalf("setup page = %d\n%s", code, body)
	}
	form := url.Values{"token": {"setup-token-0123456789"}, "name": {"dana"}, "role": {"approver"}, "password": {"a long passphrase"}, "password2": {"a long passphrase"}}
	resp, body := b.post("/setup", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup = %d\n%s", resp.StatusCode, body)
	}
	u, err := fresh.ledger.ConsoleUser(context.Background(), "dana")
	if err != nil || u.Role != ledger.RoleApprover {
		t.Fatalf("first user = %+v, %v", u, err)
	}
	// The token works once: a second user needs payrun user add.
	b.get("/signin")
	form.Set("name", "eve")
	if resp, _ := b.post("/setup", form); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second setup = %d, want 404", resp.StatusCode)
	}
}

// newEmptyEnv is a console over a ledger with no users.
func newEmptyEnv(t *testing.T, token string) *env {
	t.Helper()
	l, err := ledger.Open(context.Background(), t.TempDir()+"/empty.db", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s, err := New(Config{Ledger: l, DataDir: t.TempDir(), SetupToken: token})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: s, ledger: l}
	e.http = httptest.NewServer(s)
	t.Cleanup(e.http.Close)
	return e
}

func TestNotFoundPages(t *testing.T) {
	e := newEnv(t)
	b := e.signIn("vic")
	for _, path := range []string{"/plans/99", "/plans/x", "/runs/99", "/runs/99/progress", "/row?id=nope", "/plans/99/workbook"} {
		if code, _ := b.get(path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
}

func TestCleanSheetName(t *testing.T) {
	for in, want := range map[string]string{
		"june.xlsx":              "june.xlsx",
		`C:\Users\x\June 26.CSV`: "June 26.csv",
		"../../etc/passwd.csv":   "passwd.csv",
		"<script>.xlsx":          "_script_.xlsx",
		".csv":                   "sheet.csv",
	} {
		got, err := cleanSheetName(in)
		if err != nil || got != want {
			t.Errorf("cleanSheetName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := cleanSheetName("payload.exe"); err == nil {
		t.Error("cleanSheetName accepted a .exe")
	}
}

func TestFormatMoney(t *testing.T) {
	for _, c := range []struct{ amount, cur, want string }{
		{"1234567.5", "USD", "1,234,567.50 USD"},
		{"-12", "USD", "-12.00 USD"},
		{"0.00012345", "BTC", "0.00012345 BTC"},
		{"999", "", "999.00"},
	} {
		if got := formatMoney(mustDec(t, c.amount), c.cur); got != c.want {
			t.Errorf("formatMoney(%s, %s) = %q, want %q", c.amount, c.cur, got, c.want)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustDec(t *testing.T, s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPlanAndRunTellTheirHooks: an upload's recorded plan and a finished
// run are told to Config.OnPlanRecorded and Config.OnRunEnded, which
// payrun serve turns into the approvers' and the run's alerts.
func TestPlanAndRunTellTheirHooks(t *testing.T) {
	var mu sync.Mutex
	var plans []ledger.Plan
	var ended []RunEnded
	e := newEnv(t, func(c *Config) {
		c.OnPlanRecorded = func(_ context.Context, rec ledger.Plan, plan *batch.Plan) {
			mu.Lock()
			defer mu.Unlock()
			plans = append(plans, rec)
		}
		c.OnRunEnded = func(_ context.Context, r RunEnded) {
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, r)
		}
	})
	alice, plan := approvedPlan(e, smallSheet("hook"))
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run = %d\n%s", resp.StatusCode, body)
	}
	waitRun(t, alice, resp.Header.Get("Location"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n, m := len(plans), len(ended)
		mu.Unlock()
		if (n == 1 && m == 1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(plans) != 1 || plans[0].ID != 1 || plans[0].PreparedBy != "alice" {
		t.Errorf("plans told: %+v, want plan 1 prepared by alice", plans)
	}
	if len(ended) != 1 || ended[0].RunID != 1 || ended[0].Err != nil || ended[0].Results == "" || ended[0].Sheet != "june.csv" {
		t.Errorf("runs told: %+v, want run 1 of june.csv, finished, with results", ended)
	}
}

// resultsHeaderCells is the column names of a run page's results table.
func resultsHeaderCells(page string) []string {
	_, rest, _ := strings.Cut(page, `id="results"`)
	head, _, _ := strings.Cut(rest, "</thead>")
	var out []string
	for {
		_, after, ok := strings.Cut(head, "<th>")
		if !ok {
			return out
		}
		name, after2, _ := strings.Cut(after, "</th>")
		out = append(out, name)
		head = after2
	}
}
