package results

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
)

// collisionSource is a run of one FAILED row whose sheet has columns named
// like payrun's own: "result" saying PAID, "kyc_upload_link" holding a
// phishing link, and "Masspay Status" spelt differently.
func collisionSource() *sliceSource {
	return &sliceSource{
		run: ResultsRun{ID: 1, SheetName: "collide.csv", StartedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Status: "finished"},
		rows: []ResultRow{{
			SheetLine: 2, ClientTransferID: "c-1",
			Input: []sheet.InputField{
				{Header: "client_transfer_id", Value: "c-1"}, {Header: "amount", Value: "10.00"},
				{Header: "result", Value: "PAID"}, {Header: "kyc_upload_link", Value: "https://evil.example/phish"},
				{Header: "Masspay Status", Value: "COMPLETED"}, {Header: "sheet:result", Value: "taken already"},
			},
			Method: "payout", Amount: dec("10.00"), SourceCurrency: "USD",
			State: string(ResultFailed), KYCUploadLink: "https://masspay.example/kyc/upload/real",
			LastError: "refused", UpdatedAt: time.Date(2026, 3, 1, 9, 1, 0, 0, time.UTC),
		}},
	}
}

// wantCollisionHeader is the results header of collisionSource: the sheet's
// colliding columns echoed under a prefixed name, payrun's own once each.
var wantCollisionHeader = append(append(append([]string{}, FrontColumns...), "sheet:result", "sheet:kyc_upload_link",
	"sheet:Masspay Status", "sheet:sheet:result"), DetailColumns...)

// TestResultsSheetColumnsCannotPoseAsPayrunColumns: a sheet whose "result"
// column says PAID on a row that FAILED, and whose "kyc_upload_link" is a
// phishing link. Before the fix the workbook had two columns of each name
// and the first (the sheet's) was the one a reader or the console found.
func TestResultsSheetColumnsCannotPoseAsPayrunColumns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	out := filepath.Join(dir, "collide.results.xlsx")
	if _, err := WriteResultsFrom(ctx, collisionSource(), out, ResultsOptions{}); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, out)
	rows := rawRows(t, f, SheetResults)
	header := rows[0]
	if strings.Join(header, "|") != strings.Join(wantCollisionHeader, "|") {
		t.Fatalf("xlsx header\n got %q\nwant %q", header, wantCollisionHeader)
	}
	first := func(h []string, name string) int {
		for i, x := range h {
			if x == name {
				return i
			}
		}
		t.Fatalf("no column %q in %q", name, h)
		return -1
	}
	if got := rows[1][first(header, "result")]; got != "FAILED" {
		t.Errorf("xlsx result = %q, want FAILED", got)
	}
	if got := rows[1][first(header, "sheet:result")]; got != "PAID" {
		t.Errorf("xlsx sheet:result = %q, want the sheet's PAID echoed", got)
	}
	realRef := cellRef(first(header, "kyc_upload_link"), 2)
	if ok, target, _ := f.GetCellHyperLink(SheetResults, realRef); !ok || target != "https://masspay.example/kyc/upload/real" {
		t.Errorf("xlsx kyc_upload_link %s: link %v to %q, want MassPay's link clickable", realRef, ok, target)
	}
	fakeRef := cellRef(first(header, "sheet:kyc_upload_link"), 2)
	if ok, target, _ := f.GetCellHyperLink(SheetResults, fakeRef); ok {
		t.Errorf("xlsx sheet:kyc_upload_link %s is a link to %q; the sheet's text must stay text", fakeRef, target)
	}

	csvOut := filepath.Join(dir, "collide.results.csv")
	if _, err := WriteResultsFrom(ctx, collisionSource(), csvOut, ResultsOptions{Format: ingest.FormatCSV}); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(csvOut)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	recs[0][0] = strings.TrimPrefix(recs[0][0], "\ufeff")
	if strings.Join(recs[0], "|") != strings.Join(wantCollisionHeader, "|") {
		t.Fatalf("csv header\n got %q\nwant %q", recs[0], wantCollisionHeader)
	}
	if got := recs[1][first(recs[0], "result")]; got != "FAILED" {
		t.Errorf("csv result = %q, want FAILED", got)
	}
}

func TestOutputInputHeaders(t *testing.T) {
	got := OutputInputHeaders([]string{"client_transfer_id", "Result", "error ", "Pickup-Code", "notes", "sheet:error"})
	want := []string{"sheet:client_transfer_id", "sheet:Result", "sheet:error ", "sheet:Pickup-Code", "notes", "sheet:sheet:error"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("OutputInputHeaders\n got %q\nwant %q", got, want)
	}
}
