package results

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
)

// Writing the results of a sheet as wide as the limit takes seconds, not
// the hours a per-column width call that grows with the columns took, and
// a cancelled context (SIGTERM) stops it.
func TestResultsOfWideSheet(t *testing.T) {
	headers := []string{"client_transfer_id", "amount"}
	for len(headers) < ingest.MaxInputColumns {
		headers = append(headers, fmt.Sprintf("c%d", len(headers)))
	}
	src := &sliceSource{run: ResultsRun{ID: 1, SheetName: "wide.csv", StartedAt: testNow}}
	for i := range 20 {
		in := make([]sheet.InputField, len(headers))
		for j, h := range headers {
			in[j] = sheet.InputField{Header: h, Value: "v"}
		}
		in[0].Value, in[1].Value = fmt.Sprintf("W-%d", i), "1.00"
		src.rows = append(src.rows, ResultRow{SheetLine: i + 2, ClientTransferID: in[0].Value, Input: in,
			Amount: dec("1.00"), SourceCurrency: "USD", State: "PAID"})
	}
	write := func(ctx context.Context, path string) (time.Duration, error) {
		done := make(chan error, 1)
		start := time.Now()
		go func() { _, err := WriteResultsFrom(ctx, src, path, ResultsOptions{}); done <- err }()
		select {
		case err := <-done:
			return time.Since(start), err
		case <-time.After(90 * time.Second):
			t.Fatalf("writing the results of %d columns did not end in 90 s", len(headers))
			return 0, nil
		}
	}
	dir := t.TempDir()
	took, err := write(context.Background(), filepath.Join(dir, "wide.results.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d columns x %d rows written in %v", len(headers), len(src.rows), took)
	f := openBook(t, filepath.Join(dir, "wide.results.xlsx"))
	if rows := rawRows(t, f, SheetResults); len(rows) != 21 || len(rows[0]) != len(headers)-2+len(ResultColumns) {
		// The sheet's id and amount are payrun's first columns, not echoed.
		t.Errorf("results have %d rows of %d columns", len(rows), len(rows[0]))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	took, err = write(ctx, filepath.Join(dir, "cancelled.xlsx"))
	if !errors.Is(err, context.Canceled) || took > 5*time.Second {
		t.Errorf("cancelled write = %v after %v, want context.Canceled at once", err, took)
	}
}
