//go:build unix

package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// multiSandbox starts a sandbox on 127.0.0.1 that answers after latency,
// so two runners' work overlaps.
func multiSandbox(t testing.TB, latency time.Duration) (*sandbox.Sandbox, string) {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{APIKey: sandboxKey, Balances: map[string]decimal.Decimal{
		"USD": decimal.NewFromInt(1_000_000), "BTC": decimal.NewFromInt(100), "ETH": decimal.NewFromInt(1000),
		"USDT": decimal.NewFromInt(1_000_000)}, Faults: sandbox.Faults{Latency: latency}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return sb, srv.URL + "/v1.0.0/payout"
}

// startRunner starts the payrun binary paying sheet on the ledger at url.
func startRunner(t *testing.T, url, base, sheet, results string, stderr *bytes.Buffer) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(payrunBin, "run", "--yes", "--workers", "4", "--claim-lease", "2s",
		"--ledger", url, "--out", results, sheet)
	cmd.Env = append(os.Environ(), "MASSPAY_API_KEY="+sandboxKey, "MASSPAY_BASE_URL="+base)
	cmd.Stdout, cmd.Stderr = new(bytes.Buffer), stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

var rowsWorked = regexp.MustCompile(`"rows_worked":(\d+)`)

func worked(t testing.TB, stderr string) int {
	t.Helper()
	m := rowsWorked.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no rows_worked line in the runner's log:\n%s", stderr)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// Two payrun run processes on one PostgreSQL ledger and one sheet both work
// (the second joins rather than being refused), share the 50 rows between
// them, and pay every row exactly once; each writes a complete results
// workbook.
func TestTwoRunnersShareOnePostgresRun(t *testing.T) {
	url := pgtest.URL(t)
	sb, base := multiSandbox(t, 40*time.Millisecond)
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.xlsx")
	writeRunXLSX(t, sheet, runSheetRows("MR", 50))
	var errA, errB bytes.Buffer
	a := startRunner(t, url, base, sheet, filepath.Join(dir, "a.xlsx"), &errA)
	b := startRunner(t, url, base, sheet, filepath.Join(dir, "b.xlsx"), &errB)
	if err := a.Wait(); err != nil {
		t.Fatalf("runner A: %v\n%s", err, errA.String())
	}
	if err := b.Wait(); err != nil {
		t.Fatalf("runner B: %v\n%s", err, errB.String())
	}
	wa, wb := worked(t, errA.String()), worked(t, errB.String())
	t.Logf("rows worked: A %d, B %d", wa, wb)
	if wa == 0 || wb == 0 {
		t.Errorf("one runner did all the work: A %d, B %d", wa, wb)
	}
	audit := sb.Audit()
	rows := checkPaidOnce(t, audit, url, filepath.Join(dir, "a.xlsx"))
	checkPaidOnce(t, audit, url, filepath.Join(dir, "b.xlsx"))
	if len(rows) != 50 {
		t.Errorf("%d rows in the latest run, want 50", len(rows))
	}
}

// One of two runners is SIGKILLed mid-run, rows in flight: the other goes
// on, takes the dead runner's rows over once their leases lapse (resuming
// any in flight with the recorded request and key), and every row is paid
// exactly once, none left claimed or in flight.
func TestRunnerKilledRowsTakenOverByTheOther(t *testing.T) {
	url := pgtest.URL(t)
	sb, base := multiSandbox(t, 60*time.Millisecond)
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.xlsx")
	writeRunXLSX(t, sheet, runSheetRows("KR", 50))
	var errA, errB bytes.Buffer
	a := startRunner(t, url, base, sheet, filepath.Join(dir, "a.xlsx"), &errA)
	b := startRunner(t, url, base, sheet, filepath.Join(dir, "b.xlsx"), &errB)
	// Kill A once some rows are final, while it has others in flight.
	waitDone(t, url, 10, &errA, &errB)
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.Wait()
	if err := b.Wait(); err != nil {
		t.Fatalf("runner B after A was killed: %v\n%s", err, errB.String())
	}
	rows := checkPaidOnce(t, sb.Audit(), url, filepath.Join(dir, "b.xlsx"))
	if len(rows) != 50 {
		t.Errorf("%d rows in the latest run, want 50", len(rows))
	}
	t.Logf("rows worked by B: %d", worked(t, errB.String()))
}

// A runner that stalls past its leases (SIGSTOP: a long GC pause, a VM
// frozen) loses its rows to the other runner; when it wakes (SIGCONT) its
// transitions of those rows are fenced off and it drops them, and every row
// is still paid exactly once.
func TestStalledRunnerIsFencedOff(t *testing.T) {
	url := pgtest.URL(t)
	sb, base := multiSandbox(t, 60*time.Millisecond)
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.xlsx")
	writeRunXLSX(t, sheet, runSheetRows("ST", 50))
	var errA, errB bytes.Buffer
	a := startRunner(t, url, base, sheet, filepath.Join(dir, "a.xlsx"), &errA)
	b := startRunner(t, url, base, sheet, filepath.Join(dir, "b.xlsx"), &errB)
	waitDone(t, url, 10, &errA, &errB)
	if err := a.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second) // twice the lease: B takes A's rows over
	if err := a.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	errWait := a.Wait()
	if err := b.Wait(); err != nil {
		t.Fatalf("runner B: %v\n%s", err, errB.String())
	}
	if errWait != nil {
		t.Logf("runner A after its stall: %v", errWait)
	}
	if !bytes.Contains(errA.Bytes(), []byte("taken over by another runner")) {
		t.Logf("A lost no row in flight this time (stopped holding the ledger write lock, say)")
	}
	checkPaidOnce(t, sb.Audit(), url, filepath.Join(dir, "b.xlsx"))
}

// waitDone waits until at least n rows of the latest run are settled.
func waitDone(t *testing.T, url string, n int, errA, errB *bytes.Buffer) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		done := 0
		// Read-only opens fail until a runner has migrated the schema.
		if l, err := ledger.Open(ctx, url, ledger.Options{ReadOnly: true}); err == nil {
			if run, err := l.LatestRun(ctx); err == nil {
				c, _ := l.Counts(ctx, run.ID)
				done = c[ledger.StatePaid] + c[ledger.StateLoaded] + c[ledger.StateScheduled]
			}
			l.Close()
		}
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress in 60 s\nA:\n%s\nB:\n%s", errA.String(), errB.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
