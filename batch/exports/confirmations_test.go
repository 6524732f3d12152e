package exports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/reconcile"
)

func TestConfirmationsAndHistory(t *testing.T) {
	ctx := context.Background()
	w := newPaidWorld(t, "", "")
	w.sb.Advance(6 * time.Minute)
	if _, err := (&reconcile.Reconciler{API: w.client, Ledger: w.l, Clock: w.clock.Now}).Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pdf")
	res, err := exports.DownloadConfirmations(ctx, w.client, w.l, w.runID, dir, exports.ConfirmationOptions{})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("%+v %v", res, err)
	}
	// Only the completed payouts: r-ok and r-flip (COMPLETED at 6m); r-cancel
	// is cancelled and r-load is a load.
	if len(res.Written) != 2 || filepath.Base(res.Written[0]) != "r-flip.pdf" || filepath.Base(res.Written[1]) != "r-ok.pdf" {
		t.Fatalf("written = %v", res.Written)
	}
	b, err := os.ReadFile(res.Written[1])
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("r-ok.pdf: %v %q", err, b[:min(len(b), 8)])
	}
	res, err = exports.DownloadConfirmations(ctx, w.client, w.l, w.runID, dir, exports.ConfirmationOptions{})
	if err != nil || res.Skipped != 2 || len(res.Written) != 0 {
		t.Fatalf("second download: %+v %v", res, err)
	}
	if a, b := exports.ConfirmationFileName("a/b"), exports.ConfirmationFileName("a_b"); a == b || filepath.Base(a) != a {
		t.Fatalf("file names %q %q must differ and stay in the directory", a, b)
	}

	// History: 3 payouts + 1 load, over pages of 3.
	day := w.clock.Now()
	csvPath := filepath.Join(t.TempDir(), "history.csv")
	sum, err := exports.ExportHistory(ctx, w.client, day, day, csvPath, exports.HistoryOptions{Format: ingest.FormatCSV, PageSize: 3})
	if err != nil || sum.Rows != 4 || sum.Pages != 2 {
		t.Fatalf("history csv: %+v %v", sum, err)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 5 {
		t.Fatalf("history csv records = %d, %v", len(recs), err)
	}
	found := false
	for _, r := range recs[1:] {
		if r[3] == "r-cancel" {
			found = r[7] == "200.15" && r[5] == "CANCELLED"
		}
	}
	if !found {
		t.Fatalf("r-cancel not exported exactly: %q", recs)
	}
	xPath := filepath.Join(t.TempDir(), "history.xlsx")
	if sum, err := exports.ExportHistory(ctx, w.client, day, day, xPath, exports.HistoryOptions{}); err != nil || sum.Rows != 4 {
		t.Fatalf("history xlsx: %+v %v", sum, err)
	}
	x, err := excelize.OpenFile(xPath)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if rows, err := x.GetRows(exports.SheetHistory); err != nil || len(rows) != 5 {
		t.Fatalf("history sheet rows = %d, %v", len(rows), err)
	}
}
