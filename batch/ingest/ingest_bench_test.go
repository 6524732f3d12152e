package ingest

import (
	"bufio"
	"fmt"
	"github.com/payrun/payrun/internal/memprobe"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/validate"
	"github.com/xuri/excelize/v2"
)

var benchHeader = []string{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "method",
	"amount", "source_currency", "destination_currency", "delivery_type", "payer_name", "attr:BankAccountNumber", "notes"}

func benchRecord(i int) []string {
	rec := []string{fmt.Sprintf("BENCH-%07d", i), fmt.Sprintf("user-%06d", i%50000), "Ana", "Silva",
		fmt.Sprintf("ana.silva%d@example.com", i), "MEX", "load", fmt.Sprintf("%d.%02d", 10+i%900, i%100), "USD", "", "", "", "", "benchmark row"}
	if i%4 == 0 {
		rec[6], rec[9], rec[10], rec[11], rec[12] = "payout", "MXN", "BANK_DEPOSIT", "Bank Deposit", fmt.Sprintf("%018d", i)
	}
	return rec
}

func genCSV(b *testing.B, n int) string {
	p := filepath.Join(b.TempDir(), "bench.csv")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	write := func(rec []string) {
		for i, c := range rec {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(c)
		}
		w.WriteString("\r\n")
	}
	write(benchHeader)
	for i := 1; i <= n; i++ {
		write(benchRecord(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return p
}

func genXLSX(b *testing.B, n int) string {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	row := make([]any, len(benchHeader))
	for i, h := range benchHeader {
		row[i] = h
	}
	sw.SetRow("A1", row)
	for i := 1; i <= n; i++ {
		rec := benchRecord(i)
		for j, c := range rec {
			row[j] = c
		}
		row[7] = excelize.Cell{Value: float64(10+i%900) + float64(i%100)/100} // a numeric cell, as Excel stores it
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, row); err != nil {
			b.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "bench.xlsx")
	if err := f.SaveAs(p); err != nil {
		b.Fatal(err)
	}
	return p
}

func benchValidate(b *testing.B, path string, rows int) {
	b.ResetTimer()
	var heap, rss float64
	var cpu time.Duration
	start := time.Now()
	for i := 0; i < b.N; i++ {
		probe := memprobe.Start()
		rep, err := ValidateFile(path, IngestOptions{}, validate.ValidateOptions{})
		h, r := probe.Stop()
		cpu += probe.CPU
		if err != nil {
			b.Fatal(err)
		}
		if rep.Rows != rows || !rep.OK() {
			b.Fatalf("rows = %d, problems = %d: %v", rep.Rows, len(rep.Problems), rep.Problems[:min(3, len(rep.Problems))])
		}
		heap, rss = max(heap, h), max(rss, r)
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)*float64(b.N)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric(heap, "peak-heap-MB")
	b.ReportMetric(rss, "peak-rss-MB")
	// CPU seconds per run: on a shared machine wall time includes waiting
	// for a core; this does not.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkIngestXLSX100k parses and validates a 100,000-row workbook
// (goal: under 3 s on 2 cores, peak RSS under 150 MB).
func BenchmarkIngestXLSX100k(b *testing.B) {
	benchValidate(b, genXLSX(b, 100_000), 100_000)
}

// BenchmarkIngestCSV100k parses and validates a 100,000-row CSV file.
func BenchmarkIngestCSV100k(b *testing.B) {
	benchValidate(b, genCSV(b, 100_000), 100_000)
}

// BenchmarkIngestCSV1M checks that memory does not grow with the rows: it
// reports the peak heap and peak RSS over a 100,000-row file and over a
// 1,000,000-row one, each measured on its own.
func BenchmarkIngestCSV1M(b *testing.B) {
	path := genCSV(b, 1_000_000)
	small := genCSV(b, 100_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		probe := memprobe.Start()
		if _, err := ValidateFile(small, IngestOptions{}, validate.ValidateOptions{}); err != nil {
			b.Fatal(err)
		}
		h100k, r100k := probe.Stop()
		start := time.Now()
		probe = memprobe.Start()
		rep, err := ValidateFile(path, IngestOptions{}, validate.ValidateOptions{})
		h1m, r1m := probe.Stop()
		b.ReportMetric(probe.CPU.Seconds(), "cpu-s-1M")
		if err != nil || rep.Rows != 1_000_000 || !rep.OK() {
			b.Fatal(err)
		}
		b.ReportMetric(1_000_000/time.Since(start).Seconds(), "rows/s")
		b.ReportMetric(h100k, "peak-heap-100k-MB")
		b.ReportMetric(h1m, "peak-heap-1M-MB")
		b.ReportMetric(r100k, "peak-rss-100k-MB")
		b.ReportMetric(r1m, "peak-rss-1M-MB")
	}
}
