package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger/ledgergen"
)

// BenchmarkFiveYearLedger is issue 21's five-year measure: payrun status,
// payrun report --run of the latest run, and payrun plan of a new
// 10,000-row sheet, on a generated ledger of 60 runs x 10,000 rows (5 events
// a row) and on a one-run ledger, side by side in one process. It reports
// milliseconds per command on each and their ratio (goal <= 1.5).
func BenchmarkFiveYearLedger(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	one, five := filepath.Join(dir, "one.db"), filepath.Join(dir, "five.db")
	t0 := time.Now()
	if err := ledgergen.Generate(ctx, one, ledgergen.Spec{Runs: 1, RowsPerRun: 10_000, EventsPerRow: 5,
		Start: ledgergen.FiveYears.Start.AddDate(0, 59, 0)}); err != nil {
		b.Fatal(err)
	}
	if err := ledgergen.Generate(ctx, five, ledgergen.FiveYears); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated the one-run and five-year ledgers in %v", time.Since(t0).Round(time.Second))
	sheet := writeBenchSheet(b, dir, 10_000)
	sb := startCountingSandbox(b)
	// Open each once for writing first, as the first payrun run after an
	// upgrade would: deferred indexes are built then.
	for _, p := range []string{one, five} {
		if code, _, stderr := runInB(b, nil, "ledger", "archive", "--ledger", p, "--before", "1990-01-01"); code != 0 {
			b.Fatalf("open %s: %s", p, stderr)
		}
	}
	commands := []struct {
		name string
		args func(ledgerPath, runID string) []string
		env  map[string]string
	}{
		{"status", func(p, _ string) []string { return []string{"status", "--ledger", p} }, nil},
		{"report", func(p, run string) []string {
			return []string{"report", "--ledger", p, "--run", run, "--format", "csv", "--out", filepath.Join(dir, "r-"+run+".csv")}
		}, nil},
		{"plan", func(p, _ string) []string {
			return []string{"plan", "--ledger", p, "--out", filepath.Join(dir, "plan.xlsx"), sheet}
		}, sb.env()},
	}
	took := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range commands {
			for _, l := range []struct{ name, path, run string }{{"one", one, "1"}, {"five", five, "60"}} {
				t0 := time.Now()
				code, _, stderr := runInB(b, c.env, c.args(l.path, l.run)...)
				took[c.name+"/"+l.name] += time.Since(t0)
				if code > 1 {
					b.Fatalf("%s on %s: exit %d\n%s", c.name, l.name, code, stderr)
				}
			}
		}
	}
	b.StopTimer()
	for _, c := range commands {
		o, f := took[c.name+"/one"]/time.Duration(b.N), took[c.name+"/five"]/time.Duration(b.N)
		b.ReportMetric(float64(o.Milliseconds()), c.name+"-1run-ms")
		b.ReportMetric(float64(f.Milliseconds()), c.name+"-5y-ms")
		b.ReportMetric(float64(f)/float64(o), c.name+"-ratio")
		b.Logf("%s: one run %v, five years %v (%.2fx)", c.name, o.Round(time.Millisecond), f.Round(time.Millisecond), float64(f)/float64(o))
	}
}

// runInB is runIn for benchmarks.
func runInB(b *testing.B, env map[string]string, args ...string) (int, string, string) {
	b.Helper()
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), args)
	if err != nil {
		fmt.Fprintf(&errb, "payrun: %v\n", err)
	}
	return ExitCode(err), out.String(), errb.String()
}
