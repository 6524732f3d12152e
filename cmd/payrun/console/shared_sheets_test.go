package console

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// Issue 22 item 3: two consoles behind a load balancer, each with its own
// data folder, on one ledger. A sheet uploaded on A is approved and run
// from B (the ledger holds the sheet; B's data folder is only a cache),
// the run's progress and results show on A, and a run clicked on A while B
// pays is refused by the ledger's lock: nothing is paid twice.
//
// Before the ledger held sheets, B answered the run with 404 "This console
// does not hold the sheet of this plan".
func TestSheetUploadedOnOneConsoleRunsFromAnother(t *testing.T) {
	for _, be := range []struct {
		name string
		loc  func(t *testing.T) string
	}{
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "payrun.db") }},
	} {
		t.Run(be.name, func(t *testing.T) { testSheetAcrossConsoles(t, be.loc(t)) })
	}
}

func testSheetAcrossConsoles(t *testing.T, loc string) {
	ctx := context.Background()
	a := newEnvAt(t, loc)
	b := a.twin()
	content := smallSheet("two")
	alice := a.signIn("alice")
	plan := alice.uploadPlan("june.csv", content)

	// bob approves on B: the plan page there reads the sheet from the
	// ledger and prices it again.
	bob := b.signIn("bob")
	if code, body := bob.get(plan); code != http.StatusOK || !strings.Contains(body, "425.75") {
		t.Fatalf("plan page on B = %d, want the plan priced\n%s", code, body)
	}
	if resp, body := bob.post(plan+"/approve", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve on B = %d\n%s", resp.StatusCode, body)
	}
	if code, _ := bob.get(plan + "/workbook"); code != http.StatusOK {
		t.Errorf("plan workbook on B = %d, want it written from the ledger's sheet", code)
	}

	// Slow MassPay down so the run is still paying when A is clicked.
	a.sandbox.SetFaults(sandbox.Faults{Latency: 700 * time.Millisecond})
	onB := alice.at(b)
	onB.get(plan)
	resp, body := onB.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run from B of a sheet uploaded on A = %d, want it started\n%s", resp.StatusCode, body)
	}
	runPath := resp.Header.Get("Location")

	// The run B pays, seen from A while it pays.
	p := progressOn(t, alice, runPath)
	if !p.Running || p.Total != 3 {
		t.Fatalf("progress on A of B's run = %+v, want it running with 3 rows", p)
	}
	alice.get(plan)
	resp, body = alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "The ledger is in use") {
		t.Fatalf("run clicked on A while B pays = %d, want 409 The ledger is in use\n%s", resp.StatusCode, body)
	}
	if p := progressOn(t, alice, runPath); !p.Running {
		t.Fatalf("B's run ended before A's click was refused (%+v): the refusal above proves nothing; slow the sandbox more", p)
	}
	a.sandbox.SetFaults(sandbox.Faults{})

	p = waitRun(t, alice, runPath)
	if p.Status != string(ledger.RunFinished) || p.Total != 3 || p.Done != 3 {
		t.Fatalf("final progress on A = %+v", p)
	}
	code, body := alice.get(runPath)
	for _, want := range []string{`id="results"`, "T-two-1", "LOADED", "NEEDS_ACTION"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("results page on A of B's run = %d, lacks %q", code, want)
		}
	}
	if code, body := alice.get(runPath + "/results.xlsx"); code != http.StatusOK || !strings.HasPrefix(body, "PK") {
		t.Errorf("results workbook on A of B's run = %d, want an XLSX", code)
	}

	// One run; every load and payout once at MassPay.
	runs, err := a.ledger.Runs(ctx)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs in the ledger = %d, %v; want 1", len(runs), err)
	}
	audit := a.sandbox.Audit()
	seen := map[string]int{}
	for _, l := range audit.Loads {
		seen["load "+l.ClientLoadID]++
	}
	for _, po := range audit.Payouts {
		seen["payout "+po.ClientTransferID]++
	}
	if len(seen) == 0 {
		t.Fatal("the sandbox paid nothing")
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s sent to MassPay %d times", id, n)
		}
	}

	// B's copy of the sheet: the uploaded bytes, private to the console.
	sum := sha256.Sum256(content)
	dir := filepath.Join(b.srv.cfg.DataDir, dirSheets, hex.EncodeToString(sum[:]))
	got, err := os.ReadFile(filepath.Join(dir, "june.csv"))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("B's cached sheet = %q, %v", got, err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "june.csv"): 0o600} {
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

// progressOn reads a run's progress JSON as b.
func progressOn(t *testing.T, b *browser, runPath string) progressJSON {
	t.Helper()
	code, body := b.get(runPath + "/progress")
	if code != http.StatusOK {
		t.Fatalf("progress = %d\n%s", code, body)
	}
	var p progressJSON
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("progress JSON: %v\n%s", err, body)
	}
	return p
}

// A refused upload never reaches the ledger (it stays in this console's
// folder until swept); a planned sheet the ledger lacks (uploaded before
// the ledger kept sheets) is stored there when the console starts, so
// other consoles can run it.
func TestSheetsSharedOnlyWhenPlanned(t *testing.T) {
	ctx := context.Background()
	a := newEnv(t)
	alice := a.signIn("alice")
	bad := sample(t, "mistakes.csv")
	if resp, _ := alice.upload("mistakes.csv", bad); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("upload of a sheet with mistakes = %d", resp.StatusCode)
	}
	badSum := sha256.Sum256(bad)
	if ok, err := a.ledger.HasSheetFile(ctx, hex.EncodeToString(badSum[:])); err != nil || ok {
		t.Fatalf("refused upload in the ledger: %v, %v", ok, err)
	}

	content := smallSheet("old")
	alice.uploadPlan("old.csv", content)
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])
	// As if uploaded before migration 0012: the ledger lacks the bytes.
	db, err := sql.Open("sqlite", a.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM sheet_files WHERE sha256 = ?`, hash); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.ledger.HasSheetFile(ctx, hash); ok {
		t.Fatal("the sheet is still in the ledger")
	}
	// The console restarts on its data folder.
	startConsole(t, a.path, a.srv.cfg.DataDir, a.sandbox, a.opts...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := a.ledger.HasSheetFile(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a planned sheet of the data folder was not stored in the ledger at start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ok, _ := a.ledger.HasSheetFile(ctx, hex.EncodeToString(badSum[:])); ok {
		t.Error("the refused upload was stored in the ledger at start")
	}
	f, err := a.ledger.SheetFileBySHA256(ctx, hash)
	if err != nil || !bytes.Equal(f.Content, content) || f.Name != "old.csv" {
		t.Fatalf("shared sheet = %q %q, %v", f.Content, f.Name, err)
	}
}

// The same bytes uploaded again and refused (MassPay could not price them)
// after a plan of them was recorded: the planned sheet stays the sheet.
// The refusal used to mark its folder, whose marker file then sorted
// before the sheet and was taken for it (the run refused as "Not
// approved"), and the sweep would have removed the approved sheet a week
// later.
func TestRefusedReuploadKeepsPlannedSheet(t *testing.T) {
	e := newEnv(t)
	content := smallSheet("again")
	alice, plan := approvedPlan(e, content)
	e.sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
	if resp, body := alice.upload("june.csv", content); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("upload while MassPay fails = %d, want 502 Pricing failed\n%s", resp.StatusCode, body)
	}
	e.sandbox.SetFaults(sandbox.Faults{})
	sum := sha256.Sum256(content)
	if _, err := os.Stat(filepath.Join(e.srv.cfg.DataDir, dirSheets, hex.EncodeToString(sum[:]), refusedMarker)); err == nil {
		t.Error("a planned sheet was marked refused: the sweep would remove it")
	}
	alice.get(plan)
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run of the plan after a refused re-upload = %d\n%s", resp.StatusCode, body)
	}
	if p := waitRun(t, alice, resp.Header.Get("Location")); p.Status != string(ledger.RunFinished) || p.Done != 3 {
		t.Fatalf("final progress = %+v", p)
	}
}

// A console process killed while it pays (its host gone, data folder and
// all): the other console runs the same plan again from the ledger's copy
// of the sheet, resumes the rows the dead one left in flight with their
// stored requests, and finishes the sheet; MassPay saw every load once.
func TestConsoleKilledMidRunAnotherFinishes(t *testing.T) {
	for _, be := range []struct {
		name string
		loc  func(t *testing.T) string
	}{
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "payrun.db") }},
	} {
		t.Run(be.name, func(t *testing.T) { testConsoleKilledMidRun(t, be.loc(t)) })
	}
}

func testConsoleKilledMidRun(t *testing.T, loc string) {
	ctx := context.Background()
	b := newEnvAt(t, loc)
	dirA := filepath.Join(t.TempDir(), "console-a")
	a, kill := startChildConsole(t, loc, b.sandbox.URL(), dirA)

	var sheet strings.Builder
	sheet.WriteString("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\n")
	const rows = 12
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&sheet, "T-kill-%d,u-%d,Ana,Silva,ana%d@example.com,USA,%d.25\n", i, i, i, 10+i)
	}
	alice := a.signIn("alice")
	plan := alice.uploadPlan("june.csv", []byte(sheet.String()))
	bob := b.signIn("bob")
	bob.get(plan)
	if resp, body := bob.post(plan+"/approve", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve on B = %d\n%s", resp.StatusCode, body)
	}

	b.sandbox.SetFaults(sandbox.Faults{Latency: 300 * time.Millisecond})
	alice.get(plan)
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run on A = %d\n%s", resp.StatusCode, body)
	}
	first := resp.Header.Get("Location")
	onB := alice.at(b)
	deadline := time.Now().Add(60 * time.Second)
	for {
		p := progressOn(t, onB, first)
		if !p.Running {
			t.Fatalf("A's run ended before it was killed (%+v): slow the sandbox more", p)
		}
		if p.Done >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's run made no progress: %+v", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	kill()
	if err := os.RemoveAll(dirA); err != nil {
		t.Fatal(err)
	}
	if p := progressOn(t, onB, first); p.Done >= p.Total {
		t.Fatalf("A's run was done when it was killed (%+v): nothing left to take over", p)
	}

	// A's run reads as interrupted, not running, on B's run and runs
	// pages once its runner is known gone: at once on SQLite (its lock
	// went with it), once its run lease lapsed on PostgreSQL. The ledger
	// still has it as running: the pages do not write.
	interrupted := func(when string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; {
			p := progressOn(t, onB, first)
			if p.Status == string(runInterrupted) && !p.Running {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: A's run = %+v, want interrupted", when, p)
			}
			time.Sleep(100 * time.Millisecond)
		}
		code, page := onB.get(first)
		if code != http.StatusOK || !strings.Contains(page, `id="interrupted"`) || !strings.Contains(page, "run it again to resume; nothing is paid twice") {
			t.Fatalf("%s: A's run page = %d, want it interrupted\n%s", when, code, page)
		}
		code, page = onB.get("/runs")
		if code != http.StatusOK || !strings.Contains(page, ">interrupted</span>") {
			t.Fatalf("%s: runs page = %d, want A's run interrupted\n%s", when, code, page)
		}
		if run, err := b.ledger.Run(ctx, runIDOf(t, first)); err != nil || run.Status != ledger.RunRunning {
			t.Fatalf("%s: A's run in the ledger = %v, %v; want it still recorded running", when, run.Status, err)
		}
	}
	interrupted("after A was killed")

	// B runs the plan again. The dead process's lock goes with it (its
	// connection, its flock): allow the server a moment to notice.
	onB.get(plan)
	var second string
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, body = onB.post(plan+"/run", nil)
		if resp.StatusCode == http.StatusSeeOther {
			second = resp.Header.Get("Location")
			break
		}
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "The ledger is in use") || time.Now().After(deadline) {
			t.Fatalf("run on B after A died = %d\n%s", resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if p := progressOn(t, onB, second); !p.Running {
		t.Fatalf("B's run while it pays = %+v, want running", p)
	}
	interrupted("while B pays")
	b.sandbox.SetFaults(sandbox.Faults{})
	p := waitRun(t, onB, second)
	if p.Status != string(ledger.RunFinished) || p.Done != p.Total || p.Total == 0 {
		t.Fatalf("B's run = %+v, want every row final", p)
	}
	interrupted("after B finished")
	counts := map[string]int{}
	for _, l := range b.sandbox.Audit().Loads {
		counts[l.ClientLoadID]++
	}
	if len(counts) != rows {
		t.Errorf("MassPay holds loads for %d ids, want %d: %v", len(counts), rows, counts)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("load %s sent %d times", id, n)
		}
	}
	for i := 1; i <= rows; i++ {
		r, err := b.ledger.Row(ctx, fmt.Sprintf("T-kill-%d", i))
		if err != nil || !r.State.Final() {
			t.Errorf("row T-kill-%d: %v, %v; want final", i, r.State, err)
		}
	}
}

// runIDOf is the run id of a run page's path ("/runs/7").
func runIDOf(t *testing.T, path string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(strings.TrimPrefix(path, "/runs/"), 10, 64)
	if err != nil {
		t.Fatalf("run path %q: %v", path, err)
	}
	return id
}

// startChildConsole starts a console in another process of this test
// binary, on the ledger at loc, the sandbox at apiURL and data folder
// dataDir. kill SIGKILLs it, as a host that dies.
func startChildConsole(t *testing.T, loc, apiURL, dataDir string) (child *env, kill func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childConsoleEnv+"="+loc, childSandboxEnv+"="+apiURL, childDataDirEnv+"="+dataDir)
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
	var once sync.Once
	kill = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(func() { stdin.Close(); kill() })
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("child console did not start: %v", err)
	}
	return &env{t: t, http: &httptest.Server{URL: "http://" + strings.TrimSpace(addr)}}, kill
}
