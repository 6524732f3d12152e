package results

import (
	"context"
	"fmt"
	"github.com/payrun/payrun/internal/memprobe"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

// genSource generates n result rows on the fly, like a ledger iterator,
// so the benchmark measures the writer and not a slice of a million rows.
type genSource struct{ n int }

func (g genSource) ResultsRun(context.Context) (ResultsRun, error) {
	return ResultsRun{ID: 1, SheetName: "big.xlsx", StartedAt: fixtureClock, Environment: "sandbox"}, nil
}

func (g genSource) ResultConflicts(context.Context, func(*ConflictRow) error) error { return nil }

func (g genSource) ResultRows(ctx context.Context, fn func(*ResultRow) error) error {
	kinds := []string{"PAID", "PAID", "PAID", "LOADED", "NEEDS_ACTION", "FAILED", "committing"}
	in := make([]sheet.InputField, 8)
	r := ResultRow{}
	for i := 0; i < g.n; i++ {
		id := "row-" + strconv.Itoa(i)
		amt := strconv.Itoa(10+i%5000) + "." + strconv.Itoa(10+i%90)
		in[0], in[1], in[2], in[3] = sheet.InputField{Header: "client_transfer_id", Value: id}, sheet.InputField{Header: "internal_user_id", Value: "u" + id}, sheet.InputField{Header: "first_name", Value: "Ana"}, sheet.InputField{Header: "last_name", Value: "Silva"}
		in[4], in[5], in[6], in[7] = sheet.InputField{Header: "email", Value: id + "@example.com"}, sheet.InputField{Header: "country", Value: "MEX"}, sheet.InputField{Header: "amount", Value: amt}, sheet.InputField{Header: "method", Value: "payout"}
		r = ResultRow{SheetLine: i + 2, ClientTransferID: id, Input: in, Method: "payout", Amount: dec(amt), SourceCurrency: "USD",
			DestinationCurrency: "MXN", State: kinds[i%len(kinds)], PayoutToken: "payout_" + id, MassPayStatus: "COMPLETED",
			Fee: nd("2.99"), ExchangeRate: nd("18.37"), SourceAmount: nd(amt), DestinationAmount: nd("1837.00"),
			PayerName: "Bank Deposit", DeliveryType: "BANK_DEPOSIT", Attempts: 1, UpdatedAt: fixtureClock}
		if r.State == "NEEDS_ACTION" && i%100 == 4 {
			r.KYCUploadLink = "https://sandbox.masspay.example/kyc/upload/" + id
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkWriteResults1M writes 1,000,000 result rows to XLSX and reports
// seconds per workbook, the peak Go heap and the process's peak RSS while
// writing (goal: under 30 s and 200 MB).
func BenchmarkWriteResults1M(b *testing.B) { benchWrite(b, 1_000_000, ingest.FormatXLSX) }

// BenchmarkWriteResultsCSV1M is the same run written as CSV.
func BenchmarkWriteResultsCSV1M(b *testing.B) { benchWrite(b, 1_000_000, ingest.FormatCSV) }

// BenchmarkWriteResults10k is a quick one for profiling.
func BenchmarkWriteResults10k(b *testing.B) { benchWrite(b, 10_000, ingest.FormatXLSX) }

func benchWrite(b *testing.B, n int, format ingest.Format) {
	dir := b.TempDir()
	measureWrites(b, func(i int) error {
		path := filepath.Join(dir, fmt.Sprintf("big-%d.results.%s", i, format))
		_, err := WriteResultsFrom(context.Background(), genSource{n: n}, path, ResultsOptions{Format: format})
		return err
	})
}

// measureWrites runs write once per benchmark iteration and reports seconds
// per workbook, and the peak heap and peak RSS of the writes alone.
func measureWrites(b *testing.B, write func(i int) error) {
	var heap, rss float64
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		probe := memprobe.Start()
		err := write(i)
		h, r := probe.Stop()
		if err != nil {
			b.Fatal(err)
		}
		heap, rss = max(heap, h), max(rss, r)
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/workbook")
	b.ReportMetric(heap, "peak-heap-MB")
	b.ReportMetric(rss, "peak-rss-MB")
}

// BenchmarkWriteResultsFromLedger100k writes the results of a real 100,000-row
// ledger run, as `payrun report` does: the ledger read included, which the
// generator benchmarks leave out.
func BenchmarkWriteResultsFromLedger100k(b *testing.B) { benchFromLedger(b, 100_000) }

// BenchmarkWriteResultsFromLedger1M is the same for a million rows (the
// ledger takes about a minute to fill first).
func BenchmarkWriteResultsFromLedger1M(b *testing.B) { benchFromLedger(b, 1_000_000) }

func benchFromLedger(b *testing.B, n int) {
	ctx := context.Background()
	dir := b.TempDir()
	l, err := ledger.Open(ctx, filepath.Join(dir, "payrun.db"), ledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: "big.csv", SheetSHA256: "x", Environment: "sandbox"})
	if err != nil {
		b.Fatal(err)
	}
	in := make([]ledger.RowInput, 0, 10_000)
	for i := range n {
		id := "row-" + strconv.Itoa(i)
		amt := strconv.Itoa(10+i%5000) + "." + strconv.Itoa(10+i%90)
		in = append(in, ledger.RowInput{ID: id, Line: i + 2, Fingerprint: "f" + id, Method: "payout", InternalUserID: "u" + id,
			Amount: dec(amt), SourceCurrency: "USD", DestinationCurrency: "MXN", CountryCode: "MEX",
			Input: []ledger.Column{{Header: "client_transfer_id", Value: id}, {Header: "internal_user_id", Value: "u" + id},
				{Header: "first_name", Value: "Ana"}, {Header: "last_name", Value: "Silva"}, {Header: "email", Value: id + "@example.com"},
				{Header: "country", Value: "MEX"}, {Header: "amount", Value: amt}, {Header: "method", Value: "payout"}}})
		if len(in) == cap(in) {
			if _, err := l.UpsertRows(ctx, run.ID, in); err != nil {
				b.Fatal(err)
			}
			in = in[:0]
		}
	}
	measureWrites(b, func(i int) error {
		_, err := WriteResults(ctx, l, run.ID, filepath.Join(dir, fmt.Sprintf("r-%d.xlsx", i)), ResultsOptions{})
		return err
	})
}
