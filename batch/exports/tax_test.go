package exports

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
)

// TestTaxReportMatchesSandbox marks payees exactly as MassPay's own
// threshold filter selects them, and lists those without a tax id.
func TestTaxReportMatchesSandbox(t *testing.T) {
	w := newAPWorld(t)
	// The sandbox gives a tax id to payees with an address.
	w.payee("tax-700", "USA", "1 Main St", "700.00")
	w.payee("tax-600", "USA", "", "600.00") // exactly at the threshold, no tax id
	w.payee("tax-599", "MEX", "", "599.99")
	w.payee("tax-big", "USA", "", "250.00")
	year := w.srv.Now().Year()

	threshold := dec("600")
	rep, err := BuildTaxReport(w.ctx, w.api, year, threshold)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Payees) != 4 {
		t.Fatalf("%d payees, want 4", len(rep.Payees))
	}
	want, err := w.api.TaxBalances(w.ctx, &threshold, year)
	if err != nil {
		t.Fatal(err)
	}
	var sandboxMarked, ours []string
	for _, u := range want {
		sandboxMarked = append(sandboxMarked, u.InternalUserID)
	}
	for _, p := range rep.Payees {
		if p.AtThreshold {
			ours = append(ours, p.InternalUserID)
		}
	}
	sort.Strings(sandboxMarked)
	sort.Strings(ours)
	if len(ours) != 2 || len(sandboxMarked) != 2 || ours[0] != sandboxMarked[0] || ours[1] != sandboxMarked[1] {
		t.Fatalf("marked %v, sandbox's filter %v", ours, sandboxMarked)
	}
	if rep.Payees[0].InternalUserID != "tax-700" || rep.AtThreshold() != 2 {
		t.Errorf("order or count: %+v", rep.Payees)
	}
	missing := rep.MissingTaxIDs()
	if len(missing) != 3 || missing[0].InternalUserID != "tax-600" || !missing[0].AtThreshold {
		t.Errorf("missing tax ids: %+v", missing)
	}

	path := filepath.Join(t.TempDir(), "tax-2026.xlsx")
	if _, err := WriteTaxReport(path, rep); err != nil {
		t.Fatal(err)
	}
	f := openBook(t, path)
	rows := rawRows(t, f, SheetTaxBalances)
	if len(rows) != 5 {
		t.Fatalf("%d rows on %s", len(rows), SheetTaxBalances)
	}
	idCol, markCol, balCol := 0, colIndex(t, rows[0], "at_threshold", 0), colIndex(t, rows[0], "balance_usd", 0)
	for _, r := range rows[1:] {
		wantMark := "no"
		for _, id := range sandboxMarked {
			if r[idCol] == id {
				wantMark = "yes"
			}
		}
		if r[markCol] != wantMark {
			t.Errorf("%s marked %q, want %q", r[idCol], r[markCol], wantMark)
		}
	}
	if rows[1][balCol] != "700" {
		t.Errorf("balance cell %q", rows[1][balCol])
	}
	if m := rawRows(t, f, SheetMissingTaxID); len(m) != 4 || m[1][0] != "tax-600" {
		t.Errorf("%s sheet: %v", SheetMissingTaxID, m)
	}

	csvPath := filepath.Join(t.TempDir(), "tax.csv")
	paths, err := WriteTaxReport(csvPath, rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || paths[1] != results.ExportSiblingPath(csvPath, "missing-tax-id") {
		t.Fatalf("csv paths %v", paths)
	}
	if c := readCSV(t, paths[1]); len(c) != 4 {
		t.Errorf("missing-tax-id csv: %v", c)
	}
	if _, err := BuildTaxReport(w.ctx, w.api, 12, threshold); err == nil {
		t.Error("year 12 accepted")
	}
}

// TestWalletsExport lists the wallets of a sheet's payees, known or not.
func TestWalletsExport(t *testing.T) {
	w := newAPWorld(t)
	w.payee("wal-1", "MEX", "", "42.50")
	w.payee("wal-2", "MEX", "", "")
	sheet := writeFile(t, "pay.csv", []byte("Title row\n\ninternal_user_id,amount\nwal-1,1\nwal-2,2\nwal-1,3\nwal-3,4\n"))
	ids, err := SheetPayees(sheet, ingest.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("ids %v", ids)
	}
	payees, err := ResolvePayees(w.ctx, w.api, w.ledger, ids)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ListWallets(w.ctx, w.api, payees)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "wallets.csv")
	if _, err := WriteWallets(out, rows); err != nil {
		t.Fatal(err)
	}
	c := readCSV(t, out)
	if len(c) != 4 {
		t.Fatalf("wallets csv: %v", c)
	}
	if c[1][0] != "wal-1" || c[1][3] != "USD" || c[1][4] != "42.50" || c[1][6] != "yes" || c[1][7] != "payee" {
		t.Errorf("wal-1 row %v", c[1])
	}
	if c[2][2] != "" || c[2][8] == "" || c[3][1] != "" || c[3][8] != "not known to MassPay" {
		t.Errorf("rows without wallets: %v %v", c[2], c[3])
	}
	x := filepath.Join(t.TempDir(), "wallets.xlsx")
	if _, err := WriteWallets(x, rows); err != nil {
		t.Fatal(err)
	}
	if r := rawRows(t, openBook(t, x), "Wallets"); len(r) != 4 || r[1][4] != "42.5" {
		t.Errorf("wallets xlsx %v", r)
	}
}
