package batch_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
)

// TestEarlierRunResultsAfterALaterRun: run 1 pays four rows; run 2's sheet
// holds two of them again (a re-run); a flip is learnt after run 2. The
// results of run 1, regenerated from the ledger, still list all four rows,
// each in its current state, and the flip of a row run 2 also held.
func TestEarlierRunResultsAfterALaterRun(t *testing.T) {
	ctx := context.Background()
	w := newPaidWorld(t, "", "")

	run2, err := w.l.BeginRun(ctx, ledger.RunInfo{SheetName: "march-again.csv", SheetSHA256: "again", Environment: "sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	var again []ledger.RowInput
	for i, id := range []string{"r-flip", "r-ok"} {
		r := mustRow(t, w.l, id)
		again = append(again, ledger.RowInput{ID: r.ID, Line: 2 + i, Fingerprint: r.Fingerprint, Input: r.Input,
			Method: r.Method, InternalUserID: r.InternalUserID, Amount: r.Amount, SourceCurrency: r.SourceCurrency,
			DestinationCurrency: r.DestinationCurrency, AmountIs: r.AmountIs})
	}
	res, err := w.l.UpsertRows(ctx, run2.ID, again)
	if err != nil || res.Existing != 2 {
		t.Fatalf("re-run ingest = %+v, %v", res, err)
	}

	// COMPLETED, then CANCELLED: a flip, recorded under the row's latest run.
	rec := &reconcile.Reconciler{API: w.client, Ledger: w.l, Workers: 4, Clock: w.clock.Now}
	for _, d := range []time.Duration{6 * time.Minute, 30 * time.Minute} {
		w.sb.Advance(d)
		if _, err := rec.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if evs := flipEvents(t, w.l); len(evs) != 1 || evs[0].TransferID != "r-flip" || evs[0].RunID != run2.ID {
		t.Fatalf("flip events = %+v, want r-flip's under run %d", evs, run2.ID)
	}

	flips, err := reconcile.LedgerFlips(ctx, w.l, w.runID)
	if err != nil || len(flips) != 1 || flips[0].ClientTransferID != "r-flip" {
		t.Errorf("LedgerFlips(run 1) = %+v, %v; want r-flip's", flips, err)
	}
	out := filepath.Join(t.TempDir(), "march.results.csv")
	sum, err := results.WriteResults(ctx, w.l, w.runID, out, results.ResultsOptions{Format: ingest.FormatCSV, Flips: flips})
	if err != nil {
		t.Fatal(err)
	}
	got := resultsCSVColumns(t, out, "client_transfer_id", "result", "masspay_status")
	want := [][]string{
		{"r-ok", "PAID", "COMPLETED"},
		{"r-cancel", "PAID", "CANCELLED"},
		{"r-flip", "PAID", "CANCELLED"},
		{"r-load", "LOADED", "COMPLETED"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("run 1 results = %q, want %q", got, want)
	}
	if sum.Rows != 4 {
		t.Errorf("run 1 summary rows = %d, want 4", sum.Rows)
	}

	// Run 2's results hold run 2's sheet only, in its order.
	out2 := filepath.Join(t.TempDir(), "march-again.results.csv")
	if _, err := results.WriteResults(ctx, w.l, run2.ID, out2, results.ResultsOptions{Format: ingest.FormatCSV}); err != nil {
		t.Fatal(err)
	}
	got = resultsCSVColumns(t, out2, "client_transfer_id")
	if want := [][]string{{"r-flip"}, {"r-ok"}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("run 2 results = %q, want %q", got, want)
	}
}

// resultsCSVColumns reads a results CSV and returns the named columns of
// every data row.
func resultsCSVColumns(t *testing.T, path string, names ...string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("read %s: %v", path, err)
	}
	recs[0][0] = strings.TrimPrefix(recs[0][0], "\ufeff") // Excel's BOM
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = slices.Index(recs[0], n)
		if idx[i] < 0 {
			t.Fatalf("%s has no column %q: %q", path, n, recs[0])
		}
	}
	var out [][]string
	for _, r := range recs[1:] {
		var row []string
		for _, i := range idx {
			row = append(row, r[i])
		}
		out = append(out, row)
	}
	return out
}
