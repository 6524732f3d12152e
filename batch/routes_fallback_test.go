package batch

import (
	"bytes"
	"encoding/csv"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// lockedBuffer is a bytes.Buffer the client's workers may write to at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// samplePayoutIDs returns the client_transfer_id of every method=payout row
// of a sample CSV sheet.
func samplePayoutIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := map[string]bool{}
	for _, r := range recs[1:] {
		if r[col["method"]] == "payout" {
			out[r[col["client_transfer_id"]]] = true
		}
	}
	return out
}

// TestRunSampleSheetWithoutBestRoute pays the sample sheet against a sandbox
// whose GET /country/{cc}/best answers 404, as a MassPay following SDK 2.0.0
// does, and holds every row to what the same sheet gets from a sandbox with
// /best: the same final state, and for every paid payout the same route.
// Before the fallback every payout row ended FAILED on the 404.
func TestRunSampleSheetWithoutBestRoute(t *testing.T) {
	const sheet = "../samples/monthly-freelancers.csv"
	const workers = 4
	payouts := samplePayoutIDs(t, sheet)
	if len(payouts) < 40 {
		t.Fatalf("the sample has %d payout rows; the test wants at least 40", len(payouts))
	}

	base := newRig(t, rigOptions{})
	baseRun := base.ingest(sheet)
	base.run(baseRun, workers)
	want := base.check(baseRun)

	var sbLog, clientLog lockedBuffer
	sl := zerolog.New(&sbLog).Level(zerolog.DebugLevel)
	cl := zerolog.New(&clientLog).Level(zerolog.InfoLevel)
	g := newRig(t, rigOptions{sandbox: sandbox.Config{NoBestRoute: true, Logger: &sl}, clientLog: &cl})
	runID := g.ingest(sheet)
	g.run(runID, workers)
	got := g.check(runID)

	var paid, bank, crypto int
	for id := range payouts {
		w, ok := want[id]
		if !ok {
			t.Fatalf("payout row %s is missing from the baseline run", id)
		}
		r := got[id]
		if r.State != w.State {
			t.Errorf("row %s: %s without /best, %s with it (%s)", id, r.State, w.State, r.LastError)
			continue
		}
		if w.State != ledger.StatePaid {
			continue
		}
		paid++
		if r.DestinationToken != w.DestinationToken || r.PayerName != w.PayerName || r.DeliveryType != w.DeliveryType {
			t.Errorf("row %s: route %s %s %s without /best, %s %s %s with it", id,
				r.DeliveryType, r.PayerName, r.DestinationToken, w.DeliveryType, w.PayerName, w.DestinationToken)
		}
		switch r.DeliveryType {
		case "BANK_DEPOSIT":
			bank++
		case "CRYPTOCURRENCY":
			crypto++
		}
	}
	t.Logf("paid %d of %d payout rows (%d bank, %d crypto) without /best", paid, len(payouts), bank, crypto)
	// Every payout row is paid but the one the sample breaks on purpose:
	// its sort code is missing.
	const broken = "2026-06-FL-0197"
	if paid != len(payouts)-1 || got[broken].State != ledger.StateNeedsAction || bank < 30 || crypto < 4 {
		t.Errorf("paid %d of %d payout rows (%d bank, %d crypto), %s %s; want all but %s paid, it NEEDS_ACTION",
			paid, len(payouts), bank, crypto, broken, got[broken].State, broken)
	}
	for id, w := range want {
		if !payouts[id] && got[id].State != w.State {
			t.Errorf("load row %s: %s without /best, %s with it", id, got[id].State, w.State)
		}
	}

	// /best was asked at most once per worker racing to find it missing,
	// and the client said so in one warning for the whole run.
	if n := strings.Count(sbLog.String(), `/best","status":404`); n == 0 || n > workers {
		t.Errorf("the sandbox saw %d requests to /best; want 1..%d", n, workers)
	}
	if n := strings.Count(clientLog.String(), `"level":"warn"`); n != 1 || !strings.Contains(clientLog.String(), "/cheapest") {
		t.Errorf("want one warning naming the /cheapest fallback, got %d:\n%s", n, clientLog.String())
	}
}
