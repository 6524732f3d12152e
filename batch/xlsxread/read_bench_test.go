package xlsxread

import (
	"fmt"
	"github.com/payrun/payrun/internal/memprobe"
	"io"
	"path/filepath"
	"testing"

	"github.com/xuri/excelize/v2"
)

// BenchmarkRead100k reads every row of a 100,000-row payout workbook (14
// columns, written by excelize's StreamWriter as a program would) through
// this package's scanner and through excelize's row iterator, side by side:
// the numbers doc.go quotes. cpu-s/op is the process's user+system time per
// read, which a busy shared machine does not inflate the way it does wall
// time.
func BenchmarkRead100k(b *testing.B) {
	path := genWorkbook(b, 100_000)
	for _, r := range []struct {
		name string
		open func(string, string) (*Worksheet, error)
	}{{"scan", openXLSXScan}, {"excelize", OpenExcelize}} {
		b.Run(r.name, func(b *testing.B) {
			b.ResetTimer()
			cpu0, _ := memprobe.ProcessCPU()
			for i := 0; i < b.N; i++ {
				ws, err := r.open(path, "")
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					_, _, err := ws.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				ws.Close()
				if n != 100_001 {
					b.Fatalf("rows = %d", n)
				}
			}
			cpu1, _ := memprobe.ProcessCPU()
			b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}

// genWorkbook writes n payout rows under a header, the amount a number.
func genWorkbook(b *testing.B, n int) string {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		b.Fatal(err)
	}
	header := []any{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "method",
		"amount", "source_currency", "destination_currency", "delivery_type", "payer_name", "attr:BankAccountNumber", "notes"}
	if err := sw.SetRow("A1", header); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		row := []any{fmt.Sprintf("BENCH-%07d", i), fmt.Sprintf("user-%06d", i%50000), "Ana", "Silva",
			fmt.Sprintf("ana.silva%d@example.com", i), "MEX", "load", excelize.Cell{Value: float64(10+i%900) + float64(i%100)/100},
			"USD", "", "", "", "", "benchmark row"}
		if i%4 == 0 {
			row[6], row[9], row[10], row[11], row[12] = "payout", "MXN", "BANK_DEPOSIT", "Bank Deposit", fmt.Sprintf("%018d", i)
		}
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
