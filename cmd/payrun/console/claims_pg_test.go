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

// On PostgreSQL payrun run takes no ledger lock (a second runner of a
// sheet joins by claiming rows), so the console's lock does not keep it
// out. A console run and such a runner on the same sheet at once: every
// load reaches MassPay once. The console's runner does not claim rows, so
// both work every row: the loser of a row's compare-and-set re-sends its
// stored request with the same Idempotency-Key, and the requests (logged
// below) roughly double, the money does not.
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
	t.Logf("sandbox requests: %v", e.sandbox.Requests())
}
