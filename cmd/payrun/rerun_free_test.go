package main

import (
	"context"
	"github.com/payrun/payrun/internal/memprobe"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
)

// writeBenchSheet writes sandboxBenchRows(n) as a CSV sheet in dir.
func writeBenchSheet(t testing.TB, dir string, n int) string {
	t.Helper()
	sheet := filepath.Join(dir, "big.csv")
	var b strings.Builder
	for _, r := range append([][]string{runSheetHeader}, sandboxBenchRows(n)...) {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	if err := os.WriteFile(sheet, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return sheet
}

// onlyBalanceCalls fails t unless calls holds nothing but balance checks.
func onlyBalanceCalls(t *testing.T, calls map[string]int) {
	t.Helper()
	for k, n := range calls {
		if k != "GET /account" {
			t.Errorf("re-run of a settled sheet called %s %d times; want only balance checks (all calls: %s)", k, n, formatCalls(calls))
		}
	}
}

// TestRerunOfSettledSheetMakesNoPaymentCalls pays a mixed sheet through the
// real sandbox and runs it again: the second run asks MassPay for nothing
// but the balance, takes the rows over from the first run (one event, no
// per-row ingest) and still writes the full results.
func TestRerunOfSettledSheetMakesNoPaymentCalls(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	sheet, ledgerPath := writeBenchSheet(t, dir, n), filepath.Join(dir, "payrun.db")
	sb := startCountingSandbox(t)
	if code, _, stderr := runIn(t, sb.env(), "run", "--yes", "--ledger", ledgerPath, "--out", filepath.Join(dir, "r1.csv"), sheet); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	sb.take()
	code, stdout, stderr := runIn(t, sb.env(), "run", "--yes", "--ledger", ledgerPath, "--out", filepath.Join(dir, "r2.csv"), sheet)
	if code != 0 {
		t.Fatalf("re-run: exit %d\n%s", code, stderr)
	}
	onlyBalanceCalls(t, sb.take())
	if !strings.Contains(stdout, "Nothing left to pay") {
		t.Errorf("re-run output does not say nothing was left to pay:\n%s", stdout)
	}
	if got := len(readCSV(t, filepath.Join(dir, "r2.csv"))); got < n+1 {
		t.Errorf("re-run results hold %d lines, want the header and %d rows", got, n)
	}
	l, err := ledger.Open(context.Background(), ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	run, err := l.Run(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != ledger.RunFinished || run.RowCount != n {
		t.Errorf("run 2 = %s with %d rows, want finished with %d", run.Status, run.RowCount, n)
	}
	counts, err := l.Counts(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if counts[ledger.StatePaid]+counts[ledger.StateLoaded] != n {
		t.Errorf("run 2's rows = %v, want all %d paid or loaded", counts, n)
	}
	ingests := 0
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{RunID: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == ledger.EventIngest {
			ingests++
		}
	}
	if ingests != 0 {
		t.Errorf("re-run wrote %d ingest events; the settled rows should be taken over without reading them again", ingests)
	}
}

// BenchmarkRerunOfSettled100kSheet is issue 21's measure: re-running a
// finished 100,000-row sheet makes no payment call and finishes in seconds.
// Before CopySettledRun it took 29 s (13 s of CPU) on the test machine, most
// of it reading every row into the ledger again and walking the run three
// times to find nothing to do. It reports the run's wall and CPU seconds
// (CPU, which a loaded machine does not inflate, is the fairer number) and
// fails if the re-run asked MassPay for anything but the balance. It was a
// timed test inside make test, where -race made it take 6 minutes: speed is
// measured here, in make bench; TestRerunOfSettledSheetMakesNoPaymentCalls
// keeps the calls in make test. Run it alone:
//
//	go test -run '^$' -bench RerunOfSettled100k -benchtime 1x ./cmd/payrun/
func BenchmarkRerunOfSettled100kSheet(b *testing.B) {
	const n = 100_000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		sheet, ledgerPath := writeBenchSheet(b, dir, n), filepath.Join(dir, "payrun.db")
		settleSheet(b, ledgerPath, sheet)
		sb := startCountingSandbox(b)
		cpu0, _ := memprobe.ProcessCPU()
		t0 := time.Now()
		b.StartTimer()
		code, _, stderr := runInB(b, sb.env(), "run", "--yes", "--ledger", ledgerPath, "--out", filepath.Join(dir, "r2.xlsx"), sheet)
		b.StopTimer()
		cpu1, _ := memprobe.ProcessCPU()
		if code != 0 {
			b.Fatalf("re-run: exit %d\n%s", code, stderr)
		}
		for k, c := range sb.take() {
			if k != "GET /account" {
				b.Fatalf("re-run of a settled sheet called %s %d times; want only balance checks", k, c)
			}
		}
		b.ReportMetric(time.Since(t0).Seconds(), "wall-s")
		b.ReportMetric((cpu1 - cpu0).Seconds(), "cpu-s")
	}
}
