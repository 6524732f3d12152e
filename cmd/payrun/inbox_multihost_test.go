//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// inboxHostCmd is `payrun inbox --once DIR` as host (PAYRUN_HOST: two
// hosts on one machine) against the ledger at url, with a short lease.
func inboxHostCmd(t *testing.T, host, url, base, dir, lease string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(payrunBin, "inbox", "--once", "--settle", "50ms", "--workers", "4", "--claim-lease", lease,
		"--ledger", url, dir)
	cmd.Env = append(os.Environ(), "MASSPAY_API_KEY="+sandboxKey, "MASSPAY_BASE_URL="+base, "PAYRUN_HOST="+host)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// startInboxHost starts an inbox tick (inboxHostCmd) and kills it at cleanup.
func startInboxHost(t *testing.T, host, url, base, dir, lease string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd, stdout, stderr := inboxHostCmd(t, host, url, base, dir, lease)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdout, stderr
}

// tickInboxHost runs one inbox tick to its end and fails t unless it exits 0.
func tickInboxHost(t *testing.T, host, url, base, dir, lease string) string {
	t.Helper()
	cmd, stdout, stderr := inboxHostCmd(t, host, url, base, dir, lease)
	if err := cmd.Run(); err != nil {
		t.Fatalf("inbox on %s: %v\nstdout:\n%s\nstderr:\n%s", host, err, stdout, stderr)
	}
	return stdout.String()
}

// newInboxDir makes an inbox folder with sheet (rows) in its incoming/.
func newInboxDir(t *testing.T, rows [][]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"incoming", "done", "failed"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	writeRunXLSX(t, filepath.Join(dir, "incoming", "june.xlsx"), rows)
	return dir
}

// filed lists the files of dir/sub/<date>/, by base name.
func filed(t *testing.T, dir, sub string) []string {
	t.Helper()
	got, _ := filepath.Glob(filepath.Join(dir, sub, "*", "*"))
	for i, p := range got {
		got[i] = filepath.Base(p)
	}
	return got
}

// settledCount is how many rows of the latest run are final.
func settledCount(t *testing.T, url string) (done, total int) {
	t.Helper()
	ctx := context.Background()
	l, err := ledger.Open(ctx, url, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for r, err := range l.Rows(ctx, ledger.RowFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		total++
		if r.State.Final() {
			done++
		}
	}
	return done, total
}

// Failover (issue 22): host A's inbox takes a sheet on a folder both hosts
// share and is SIGKILLed mid-sheet. Host B's tick while A works leaves the
// sheet alone (A holds its lease; no folder lock keeps B out); once A's
// lease lapses B's next tick takes the sheet over and finishes it: every
// row paid exactly once, the sheet filed once, as done, with complete
// results. Before sheet leases the inbox had no --claim-lease, and without
// it B's first tick exited 3 on A's folder lock.
func TestInboxHostKilledMidSheetOtherHostFinishes(t *testing.T) {
	url := pgtest.URL(t)
	sb, base := multiSandbox(t, 120*time.Millisecond)
	const n = 80
	dir := newInboxDir(t, runSheetRows("FO", n))
	a, outA, errA := startInboxHost(t, "host-a", url, base, dir, "2s")
	waitDone(t, url, 5, errA, new(bytes.Buffer))

	out := tickInboxHost(t, "host-b", url, base, dir, "2s")
	if !strings.Contains(out, "june.xlsx: being paid by host-a/") {
		t.Errorf("host B's tick while A pays the sheet: want it left, naming host A:\n%s", out)
	}
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.Wait()
	if done, total := settledCount(t, url); done == n {
		t.Fatalf("host A finished the sheet (%d of %d rows) before it was killed; the test needs it mid-sheet\n%s", done, total, outA)
	} else {
		t.Logf("host A killed with %d of %d rows settled", done, total)
	}
	if _, err := os.Stat(filepath.Join(dir, "incoming", "june.xlsx")); err != nil {
		t.Fatalf("the sheet left incoming while A paid it: %v", err)
	}

	time.Sleep(2500 * time.Millisecond) // A's sheet lease and row claims lapse
	out = tickInboxHost(t, "host-b", url, base, dir, "2s")
	if !strings.Contains(out, "june.xlsx: done, filed as") {
		t.Fatalf("host B's tick after A's lease lapsed: want the sheet done:\n%s", out)
	}
	if got := filed(t, dir, "done"); len(got) != 2 || strings.Join(got, " ") != "june.results.xlsx june.xlsx" {
		t.Errorf("done/ holds %v, want the sheet and its results once", got)
	}
	if got, _ := filepath.Glob(filepath.Join(dir, "incoming", "*.xlsx")); len(got) != 0 {
		t.Errorf("incoming still holds %v", got)
	}
	if got := filed(t, dir, "failed"); len(got) != 0 {
		t.Errorf("failed/ holds %v", got)
	}
	results, _ := filepath.Glob(filepath.Join(dir, "done", "*", "june.results.xlsx"))
	if len(results) != 1 {
		t.Fatalf("results %v", results)
	}
	rows := checkPaidOnce(t, sb.Audit(), url, results[0])
	if len(rows) != n {
		t.Errorf("%d rows in B's run, want %d", len(rows), n)
	}
	ctx := context.Background()
	l, err := ledger.Open(ctx, url, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	run, err := l.LatestRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if key := run.IngestKey; key != "" {
		if s, err := l.SheetLeaseOf(ctx, key); err != nil || s.Owner != "" || s.Gen != 2 {
			t.Errorf("sheet lease after B filed the sheet: %+v, %v; want released, taken twice (A, then B)", s, err)
		}
	}
}

// Two hosts' inboxes started together on one sheet take it once: one pays
// it and files it as done, the other leaves it that tick, naming the
// holder; every row is paid exactly once. Whether they share the folder
// or each has its own copy of the sheet. With its own copy, the host that
// left it files its copy on its next tick as nothing to pay, paying no
// one (the re-run path). Before sheet leases, on a shared folder the
// second inbox exited 3 on the folder lock; with own copies both paid the
// sheet (sharing its rows) and both filed it as done.
func TestTwoHostsInboxesTakeOneSheetOnce(t *testing.T) {
	for _, shared := range []bool{true, false} {
		name := "own copies"
		if shared {
			name = "shared folder"
		}
		t.Run(name, func(t *testing.T) {
			url := pgtest.URL(t)
			sb, base := multiSandbox(t, 80*time.Millisecond)
			const n = 40
			rows := runSheetRows("TW", n)
			dirA := newInboxDir(t, rows)
			dirB := dirA
			if !shared {
				dirB = newInboxDir(t, rows)
			}
			a, outA, errA := startInboxHost(t, "host-a", url, base, dirA, "3s")
			b, outB, errB := startInboxHost(t, "host-b", url, base, dirB, "3s")
			if err := a.Wait(); err != nil {
				t.Fatalf("host A: %v\n%s\n%s", err, outA, errA)
			}
			if err := b.Wait(); err != nil {
				t.Fatalf("host B: %v\n%s\n%s", err, outB, errB)
			}
			const done, left = "june.xlsx: done, filed as", "june.xlsx: being paid by host-"
			winner, loserDir, loser := "", "", ""
			switch {
			case strings.Contains(outA.String(), done) && strings.Contains(outB.String(), left+"a/"):
				winner, loser, loserDir = dirA, "host-b", dirB
			case strings.Contains(outB.String(), done) && strings.Contains(outA.String(), left+"b/"):
				winner, loser, loserDir = dirB, "host-a", dirA
			default:
				t.Fatalf("want one host to pay the sheet and the other to leave it:\nA:\n%s\nB:\n%s", outA, outB)
			}
			if got := filed(t, winner, "done"); len(got) != 2 {
				t.Errorf("done/ holds %v, want the sheet and its results", got)
			}
			results, _ := filepath.Glob(filepath.Join(winner, "done", "*", "june.results.xlsx"))
			if len(results) != 1 {
				t.Fatalf("results %v", results)
			}
			if got := checkPaidOnce(t, sb.Audit(), url, results[0]); len(got) != n {
				t.Errorf("%d rows in the run, want %d", len(got), n)
			}
			if shared {
				return
			}
			if got := filed(t, loserDir, "done"); len(got) != 0 {
				t.Errorf("the host that left the sheet filed %v as done", got)
			}
			payouts := len(sb.Audit().Payouts)
			out := tickInboxHost(t, loser, url, base, loserDir, "3s")
			if !strings.Contains(out, "june.xlsx: nothing to pay, filed as") {
				t.Errorf("%s's next tick on its copy: want it filed as nothing to pay:\n%s", loser, out)
			}
			if got := len(sb.Audit().Payouts); got != payouts {
				t.Errorf("%s's next tick sent %d payouts, want none", loser, got-payouts)
			}
			if got := filed(t, loserDir, "nothing-to-pay"); len(got) != 2 {
				t.Errorf("nothing-to-pay/ holds %v, want the copy and its results", got)
			}
		})
	}
}

// An inbox that stalled past its sheet lease (renewals stopped) and was
// taken over does not confirm the lease before filing, and its release
// leaves the new holder's lease alone; a third inbox is told who holds the
// sheet; a sheet gone from incoming (filed by another host on a shared
// folder) is reported as gone, not as an error.
func TestInboxSheetLeaseTakenOverWhileStalled(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "incoming"), 0o750)
	path := filepath.Join(dir, "incoming", "june.csv")
	writeSheet(t, path, "LS", 1)
	m := &Main{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer), Getenv: func(string) string { return "" }}
	worker := func(owner string) *inboxWorker {
		return &inboxWorker{m: m, dir: dir, ledgerPath: url, log: zerolog.Nop(), owner: owner, host: "h", lease: 300 * time.Millisecond}
	}
	a := worker("host-a/1/aa")
	held, holder, err := a.takeSheet(ctx, "june.csv", path)
	if err != nil || held == nil {
		t.Fatalf("take = %v, %q, %v", held, holder, err)
	}
	held.halt() // A stalls: no more renewals
	time.Sleep(400 * time.Millisecond)
	b := worker("host-b/2/bb")
	heldB, _, err := b.takeSheet(ctx, "june.csv", path)
	if err != nil || heldB == nil {
		t.Fatalf("B's take of A's lapsed lease = %v, %v", heldB, err)
	}
	defer heldB.release(ctx)
	if held.keep(ctx) {
		t.Error("A confirmed a lease B took over")
	}
	held.release(ctx)
	if _, holder, err := worker("host-c/3/cc").takeSheet(ctx, "june.csv", path); err != nil || holder != "host-b/2/bb" {
		t.Errorf("C's take while B holds it: holder %q, %v; want host-b's", holder, err)
	}
	if !heldB.keep(ctx) {
		t.Error("B lost its lease to A's release")
	}
	if _, _, err := a.takeSheet(ctx, "gone.csv", filepath.Join(dir, "incoming", "gone.csv")); !errors.Is(err, errSheetGone) {
		t.Errorf("take of a sheet gone from incoming = %v, want errSheetGone", err)
	}
}
