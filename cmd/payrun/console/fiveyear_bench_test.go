package console

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/ledgergen"
)

// BenchmarkRunsPageFiveYear measures what the console's runs page reads
// (runLines: the newest 100 runs with their totals) on a generated
// five-year ledger (60 runs x 10,000 rows) and on a one-run ledger, side by
// side, and reports both and their ratio (issue 21's goal: <= 1.5).
func BenchmarkRunsPageFiveYear(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	servers := map[string]*Server{}
	for name, spec := range map[string]ledgergen.Spec{
		"one":  {Runs: 1, RowsPerRun: 10_000, EventsPerRow: 5, Start: ledgergen.FiveYears.Start},
		"five": ledgergen.FiveYears,
	} {
		path := filepath.Join(dir, name+".db")
		if err := ledgergen.Generate(ctx, path, spec); err != nil {
			b.Fatal(err)
		}
		l, err := ledger.Open(ctx, path, ledger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		s, err := New(Config{Ledger: l, Environment: "production", DataDir: filepath.Join(dir, name), Log: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		servers[name] = s
	}
	// The first read sums every run's rows and keeps the summaries of the
	// runs that can no longer change (ledger.PutRunSummary); later reads
	// use them. Both are reported; the first iteration's cold pass is the
	// only truly cold one, so run it with -benchtime 1x.
	took := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, pass := range []string{"cold", "warm"} {
			for _, name := range []string{"one", "five"} {
				t0 := time.Now()
				if _, err := servers[name].runLines(ctx, 100); err != nil {
					b.Fatal(err)
				}
				took[pass+"/"+name] += time.Since(t0)
			}
		}
	}
	b.StopTimer()
	for _, pass := range []string{"cold", "warm"} {
		o, f := took[pass+"/one"]/time.Duration(b.N), took[pass+"/five"]/time.Duration(b.N)
		b.ReportMetric(float64(o.Milliseconds()), "runs-page-"+pass+"-1run-ms")
		b.ReportMetric(float64(f.Milliseconds()), "runs-page-"+pass+"-5y-ms")
		b.ReportMetric(float64(f)/float64(o), "runs-page-"+pass+"-ratio")
		b.Logf("runs page, %s: one run %v, five years %v (%.2fx)", pass, o.Round(time.Millisecond), f.Round(time.Millisecond), float64(f)/float64(o))
	}
}
