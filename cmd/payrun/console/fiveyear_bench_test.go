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
// five-year ledger (60 runs x 10,000 rows) and on a one-run ledger, each
// opened as after an upgrade (no run's totals kept yet), one after the
// other so neither's background count slows the other. It reports the
// first view (issue 21's goal: within 1.5x of the one-run ledger), the
// time from the console's start until every total is counted, and a later
// view. Only the first iteration is cold: run it with -benchtime 1x.
func BenchmarkRunsPageFiveYear(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	specs := map[string]ledgergen.Spec{
		"one":  {Runs: 1, RowsPerRun: 10_000, EventsPerRow: 5, Start: ledgergen.FiveYears.Start},
		"five": ledgergen.FiveYears,
	}
	ledgers := map[string]*ledger.Ledger{}
	for name, spec := range specs {
		path := filepath.Join(dir, name+".db")
		if err := ledgergen.Generate(ctx, path, spec); err != nil {
			b.Fatal(err)
		}
		l, err := ledger.Open(ctx, path, ledger.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		ledgers[name] = l
	}
	took := map[string]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, name := range []string{"one", "five"} {
			t0 := time.Now()
			s, err := New(Config{Ledger: ledgers[name], Environment: "production", DataDir: filepath.Join(dir, name), Log: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			lines, err := s.runLines(ctx, runsShown)
			if err != nil {
				b.Fatal(err)
			}
			took["first/"+name] += time.Since(t0)
			if len(lines) != specs[name].Runs {
				b.Fatalf("%s: %d runs listed, want %d", name, len(lines), specs[name].Runs)
			}
			<-s.sums.done
			took["counted/"+name] += time.Since(t0)
			t1 := time.Now()
			if lines, err = s.runLines(ctx, runsShown); err != nil {
				b.Fatal(err)
			}
			took["later/"+name] += time.Since(t1)
			for _, ln := range lines {
				if ln.Counting || ln.Total != specs[name].RowsPerRun {
					b.Fatalf("%s: run %d after the count: %+v", name, ln.Run.ID, ln)
				}
			}
			s.Close()
		}
	}
	b.StopTimer()
	for _, pass := range []string{"first", "counted", "later"} {
		o, f := took[pass+"/one"]/time.Duration(b.N), took[pass+"/five"]/time.Duration(b.N)
		b.ReportMetric(float64(o.Microseconds())/1000, "runs-page-"+pass+"-1run-ms")
		b.ReportMetric(float64(f.Microseconds())/1000, "runs-page-"+pass+"-5y-ms")
		b.ReportMetric(float64(f)/float64(o), "runs-page-"+pass+"-ratio")
		b.Logf("runs page, %s: one run %v, five years %v (%.2fx)", pass, o.Round(time.Microsecond*100), f.Round(time.Microsecond*100), float64(f)/float64(o))
	}
}
