package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
)

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
	if head := resultsHeaderCells(body); strings.Join(head[:min(len(head), 8)], "|") != strings.Join(results.FrontColumns, "|") {
		t.Errorf("results table starts with %q, want %q", head[:min(len(head), 8)], results.FrontColumns)
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

// TestPlanAndRunTellTheirHooks: an upload's recorded plan and a finished
// run are told to Config.OnPlanRecorded and Config.OnRunEnded, which
// payrun serve turns into the approvers' and the run's alerts.
func TestPlanAndRunTellTheirHooks(t *testing.T) {
	var mu sync.Mutex
	var plans []ledger.Plan
	var ended []RunEnded
	e := newEnv(t, func(c *Config) {
		c.OnPlanRecorded = func(_ context.Context, rec ledger.Plan, plan *results.Plan) {
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
