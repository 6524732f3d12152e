//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/pgtest"
)

// BenchmarkTwoRunners pays a sheet (BENCH_MULTIRUNNER_ROWS rows, default
// 5,000: loads and USA and MEX bank payouts) against the embedded sandbox
// at 50 ms a call and no rate limit, with one `payrun run` process and then
// with two processes sharing the run on one durable PostgreSQL ledger
// (pgtest.DurableURL), alternately, BENCH_MULTIRUNNER_ROUNDS times (default
// 2). Each trial has its own sandbox and its own ledger schema.
//
// What bounds one runner is its --workers (BENCH_MULTIRUNNER_WORKERS,
// default 16), fixed as one host would be configured: at 50 ms a call a
// runner pays about workers / (calls a row x 50 ms) rows a second, and a
// second host brings its own workers. The adaptive window is left out on
// purpose: on this machine it would grow until the two shared cores bind,
// which measures the cores, not what a second host adds.
//
// Set BENCH_MULTIRUNNER=1 to run it (make bench-multirunner); it needs
// PostgreSQL's binaries or PAYRUN_TEST_POSTGRES. It reports the ratio of
// two runners' rows/s to one's (goal: at least 1.8), each trial's wall time
// from the first process's start to the last one's exit (ingest and plan
// included), the share of rows each runner worked, and the CPU seconds the
// payrun processes used.
func BenchmarkTwoRunners(b *testing.B) {
	if os.Getenv("BENCH_MULTIRUNNER") != "1" {
		b.Skip("set BENCH_MULTIRUNNER=1 (make bench-multirunner): one vs two payrun run processes on one PostgreSQL ledger, minutes")
	}
	rows := envIntDefault("BENCH_MULTIRUNNER_ROWS", 5000)
	workers := envIntDefault("BENCH_MULTIRUNNER_WORKERS", 16)
	rounds := envIntDefault("BENCH_MULTIRUNNER_ROUNDS", 2)
	var one, two time.Duration
	for round := 1; round <= rounds; round++ {
		a := multiRunnerTrial(b, 1, rows, workers)
		one += a.elapsed
		b.Logf("round %d: one runner  %v, %.1f rows/s, CPU %.1f s, rows worked %v", round, a.elapsed.Round(10*time.Millisecond),
			float64(rows)/a.elapsed.Seconds(), a.cpu.Seconds(), a.worked)
		c := multiRunnerTrial(b, 2, rows, workers)
		two += c.elapsed
		b.Logf("round %d: two runners %v, %.1f rows/s, CPU %.1f s, rows worked %v; ratio %.2fx", round, c.elapsed.Round(10*time.Millisecond),
			float64(rows)/c.elapsed.Seconds(), c.cpu.Seconds(), c.worked, a.elapsed.Seconds()/c.elapsed.Seconds())
	}
	b.ReportMetric(float64(rows*rounds)/one.Seconds(), "rows/s-one")
	b.ReportMetric(float64(rows*rounds)/two.Seconds(), "rows/s-two")
	b.ReportMetric(one.Seconds()/two.Seconds(), "two/one")
}

// multiTrial is one payment of a sheet by k runners.
type multiTrial struct {
	elapsed time.Duration
	cpu     time.Duration // user + system time of the payrun processes
	worked  []int         // rows_worked of each runner
}

// multiRunnerTrial pays a fresh n-row sheet with k payrun run processes,
// each with --workers workers, on a fresh durable PostgreSQL ledger and a
// fresh sandbox at 50 ms, and checks every row was paid exactly once.
func multiRunnerTrial(b *testing.B, k, n, workers int) multiTrial {
	b.Helper()
	url := pgtest.DurableURL(b)
	sb, base := multiSandbox(b, 50*time.Millisecond)
	dir := b.TempDir()
	sheet := writeBenchSheet(b, dir, n)
	cmds := make([]*exec.Cmd, k)
	errs := make([]*bytes.Buffer, k)
	start := time.Now()
	for i := range cmds {
		errs[i] = new(bytes.Buffer)
		cmd := exec.Command(payrunBin, "run", "--yes", "--workers", strconv.Itoa(workers),
			"--ledger", url, "--out", filepath.Join(dir, fmt.Sprintf("r%d.xlsx", i)), sheet)
		cmd.Env = append(os.Environ(), "MASSPAY_API_KEY="+sandboxKey, "MASSPAY_BASE_URL="+base)
		cmd.Stdout, cmd.Stderr = new(bytes.Buffer), errs[i]
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		cmds[i] = cmd
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	var tr multiTrial
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			b.Fatalf("runner %d of %d: %v\n%s", i+1, k, err, errs[i].String())
		}
		tr.cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	tr.elapsed = time.Since(start)
	for i := range cmds {
		tr.worked = append(tr.worked, worked(b, errs[i].String()))
	}
	audit := sb.Audit()
	for i := range cmds {
		if rows := checkPaidOnce(b, audit, url, filepath.Join(dir, fmt.Sprintf("r%d.xlsx", i))); len(rows) != n {
			b.Fatalf("%d rows in the latest run, want %d", len(rows), n)
		}
	}
	return tr
}

// envIntDefault reads a positive integer from the environment, def when
// unset or not one.
func envIntDefault(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
