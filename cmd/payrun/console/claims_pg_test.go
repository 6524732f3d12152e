package console

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// On PostgreSQL payrun run takes no ledger lock: a second runner of a
// sheet joins by claiming rows. A console run and such a runner on the
// same sheet at once share the rows as two payrun runs do: each row's
// money requests are sent by one of them only, and every row is paid once.
//
// Before the console's runner claimed rows both worked every row (the
// loser of a row's compare-and-set re-sent its stored request with the
// same Idempotency-Key): 32 POST /load for 16 rows, each load reaching
// MassPay once but every row worked twice.
func TestConsoleRunBesideClaimingRunnerOnPostgres(t *testing.T) {
	ctx := context.Background()
	loc := pgtest.URL(t)
	e := newEnvAt(t, loc)
	var sheet strings.Builder
	sheet.WriteString("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\n")
	const rows = 16
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&sheet, "T-both-%d,u-%d,Ana,Silva,ana%d@example.com,USA,%d.50\n", i, i, i, 20+i)
	}
	alice, plan := approvedPlan(e, []byte(sheet.String()))

	// payrun run on another host: its own ledger handle, its own run.
	other, err := ledger.Open(ctx, loc, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	path := filepath.Join(t.TempDir(), "june.csv")
	if err := os.WriteFile(path, []byte(sheet.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, _ := ingest.FileSHA256(path)
	run2, err := other.BeginRun(ctx, ledger.RunInfo{SheetName: "june.csv", SheetSHA256: sum, Operator: "cron"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RecordSheet(ctx, other, run2.ID, path, ingest.IngestOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	client, err := masspay.New(masspay.Config{BaseURL: e.sandbox.URL(), APIKey: testAPIKey})
	if err != nil {
		t.Fatal(err)
	}

	e.sandbox.SetFaults(sandbox.Faults{Latency: 150 * time.Millisecond})
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console run = %d\n%s", resp.StatusCode, body)
	}
	// The console's run holds a run lease, which payrun autopay apply and
	// the inbox's probe (runInProgress, package main) read as a run in
	// progress: any live lease not an inbox's ("payrun inbox ...").
	consoleRun := strings.TrimPrefix(resp.Header.Get("Location"), "/runs/")
	live, err := other.LiveRunLeases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || fmt.Sprint(live[0].RunID) != consoleRun || strings.HasPrefix(live[0].Command, "payrun inbox ") {
		t.Errorf("live run leases while the console pays run %s: %+v; want the console's", consoleRun, live)
	}
	done := make(chan error, 1)
	go func() {
		rn := &batch.Runner{API: client, Ledger: other, ClaimOwner: "cron-host/1/test"}
		_, err := rn.Run(ctx, ctx, run2.ID)
		done <- err
	}()
	p := waitRun(t, alice, resp.Header.Get("Location"))
	if err := <-done; err != nil {
		t.Fatalf("the claiming runner: %v", err)
	}
	t.Logf("console run: %+v", p)
	// The sandbox answers each POST /load once here (latency, no faults):
	// a row worked by one runner sends its load once.
	if n := e.sandbox.Requests()["POST /load/{}"]; n != rows {
		t.Errorf("POST /load sent %d times for %d rows: rows were worked by both runners (requests %v)", n, rows, e.sandbox.Requests())
	}
	counts := map[string]int{}
	for _, l := range e.sandbox.Audit().Loads {
		counts[l.ClientLoadID]++
	}
	if len(counts) != rows {
		t.Errorf("MassPay holds loads for %d ids, want %d", len(counts), rows)
	}
	for id, n := range counts {
		if n != 1 {
			t.Errorf("load %s sent %d times", id, n)
		}
	}
	for i := 1; i <= rows; i++ {
		r, err := e.ledger.Row(ctx, fmt.Sprintf("T-both-%d", i))
		if err != nil || !r.State.Final() {
			t.Errorf("row T-both-%d: %v, %v; want final", i, r.State, err)
		}
	}
}

// A payrun run on another host holds no ledger lock on PostgreSQL, only
// its run lease: the console's Pay button is refused while that lease is
// live, naming the run, as it is while another process holds the lock.
// Once the runner has ended its lease, Pay starts the run.
func TestConsoleRefusesRunWhileAnotherRunnerLeasesOnPostgres(t *testing.T) {
	ctx := context.Background()
	e := newEnvAt(t, pgtest.URL(t))
	alice, plan := approvedPlan(e, smallSheet("lease"))
	const owner = "cron-host/4242/beef"
	if err := e.ledger.HoldRunLease(ctx, owner, 77, "payrun run june.xlsx", time.Minute); err != nil {
		t.Fatal(err)
	}
	resp, body := alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "The ledger is in use") ||
		!strings.Contains(body, "payrun run june.xlsx") || !strings.Contains(body, owner) {
		t.Fatalf("run beside a live run lease = %d, want 409 naming it\n%s", resp.StatusCode, body)
	}
	if n := e.sandbox.Requests()["POST /load/{}"]; n != 0 {
		t.Fatalf("a refused run sent %d loads", n)
	}
	if err := e.ledger.EndRunLease(ctx, owner); err != nil {
		t.Fatal(err)
	}
	alice.get(plan)
	resp, body = alice.post(plan+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run once the lease ended = %d\n%s", resp.StatusCode, body)
	}
	if p := waitRun(t, alice, resp.Header.Get("Location")); p.Status != string(ledger.RunFinished) {
		t.Fatalf("run = %+v", p)
	}
}
