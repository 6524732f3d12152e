package results

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/ledger"
)

// TestWriteResultsXLSX builds a run with every result kind in a real ledger
// file, writes its workbook, reopens it with excelize and checks every
// column, the number formats, the link, the fills and the Summary's totals
// against the ledger.
func TestWriteResultsXLSX(t *testing.T) {
	ctx := context.Background()
	l, runID, sheet := buildFixtureLedger(t)
	out := DefaultResultsPath(sheet, ingest.FormatXLSX)
	if filepath.Base(out) != "march.results.xlsx" {
		t.Fatalf("default path %s", out)
	}
	sum, err := WriteResults(ctx, l, runID, out, ResultsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := openBook(t, out)
	if got, want := f.GetSheetList(), []string{SheetResults, SheetSummary, SheetNeedsAction, SheetConflicts}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sheets %v, want %v", got, want)
	}

	rows := rawRows(t, f, SheetResults)
	header := rows[0]
	// payrun's front columns, the sheet's own but its id and amount (shown
	// first), then payrun's details. The sheet's destination_currency is
	// echoed as sheet:destination_currency: the name is one of payrun's own.
	wantHeader := append([]string{}, FrontColumns...)
	for _, h := range fixtureHeaders {
		switch h {
		case "client_transfer_id", "amount":
		case "destination_currency":
			wantHeader = append(wantHeader, "sheet:"+h)
		default:
			wantHeader = append(wantHeader, h)
		}
	}
	wantHeader = append(wantHeader, DetailColumns...)
	if strings.Join(header, "|") != strings.Join(wantHeader, "|") {
		t.Fatalf("header\n got %v\nwant %v", header, wantHeader)
	}
	col := func(name string) int { return colIndex(t, header, name, 0) }
	byID := map[string]int{} // client_transfer_id -> sheet row number
	var order []string
	for i, r := range rows[1:] {
		byID[r[0]] = i + 2
		order = append(order, r[0])
	}
	if got := strings.Join(order, ","); got != "mar-001,mar-002,mar-003,mar-004,mar-005,mar-006,mar-007,dup-1,mar-009,mar-010,mar-011" {
		t.Fatalf("rows not in sheet order: %s", got)
	}
	cellAt := func(id, name string) string {
		r := rows[byID[id]-1]
		if i := col(name); i < len(r) {
			return r[i]
		}
		return ""
	}
	ref := func(id, name string) string { return cellRef(col(name), byID[id]) }

	// Every input column is echoed, the unknown cost_center included.
	for _, id := range []string{"mar-001", "mar-007", "dup-1"} {
		r := rows[byID[id]-1]
		if r[colIndex(t, header, "cost_center", 0)] == "" || r[colIndex(t, header, "email", 0)] == "" {
			t.Errorf("%s: input not echoed: %v", id, r)
		}
	}
	if got := rows[byID["mar-007"]-1][colIndex(t, header, "amount", 0)]; got != "abc" {
		t.Errorf("invalid amount echoed as %q", got)
	}
	if got := rows[byID["dup-1"]-1][colIndex(t, header, "amount", 0)]; got != "120" {
		t.Errorf("conflict row echoes the sheet's amount: %q, want 120", got)
	}

	// Result and action per kind, and their fills.
	green, amber, red := "C6EFCE", "FFEB9C", "FFC7CE" // Excel's Good, Neutral, Bad
	for id, want := range map[string]struct {
		result, action, fill string
	}{
		"mar-001": {"PAID", "", green},
		"mar-002": {"LOADED", "", green},
		"mar-003": {"SCHEDULED", "", green},
		"mar-004": {"NEEDS_ACTION", ActionKYC, amber},
		"mar-005": {"NEEDS_ACTION", "Add the payee's Routing number (ABA) in column attr:BankRoutingNumber and re-run", amber},
		"mar-006": {"FAILED", ActionFailed, red},
		"mar-007": {"INVALID", ActionInvalid, red},
		"dup-1":   {"CONFLICT", ActionConflict, red},
		"mar-009": {"PAID", "", green},
		"mar-010": {"PAID", "", green},
		"mar-011": {"PENDING", ActionPending, amber},
	} {
		if got := cellAt(id, "result"); got != want.result {
			t.Errorf("%s result %q, want %q", id, got, want.result)
		}
		if got := cellAt(id, "action_needed"); got != want.action {
			t.Errorf("%s action %q, want %q", id, got, want.action)
		}
		for _, name := range []string{"client_transfer_id", "result", "fee", "updated_at"} {
			i := colIndex(t, header, name, 0)
			if got := fillColor(cellStyle(t, f, SheetResults, cellRef(i, byID[id]))); got != want.fill {
				t.Errorf("%s %s fill %q, want %q", id, name, got, want.fill)
			}
		}
	}

	// The paid cash pickup: every result column.
	for name, want := range map[string]string{
		"masspay_status": "PENDING", "payout_token": "payout_a1", "load_token": "",
		"fee": "3.99", "exchange_rate": "18.37", "source_amount": "100", "destination_amount": "1837",
		"destination_currency": "MXN", "pickup_code": "PK-55120", "payer_name": "Elektra",
		"delivery_type": "CASH_PICKUP", "error": "", "attempts": "1", "kyc_upload_link": "",
	} {
		if got := cellAt("mar-001", name); got != want {
			t.Errorf("mar-001 %s = %q, want %q", name, got, want)
		}
	}
	if got := cellAt("mar-002", "load_token"); got != "ld_b2" {
		t.Errorf("load token %q", got)
	}
	if got := cellAt("mar-006", "error"); got != "commit answered status failure" {
		t.Errorf("failed error %q", got)
	}
	if got := cellAt("dup-1", "error"); !strings.Contains(got, "run 1") || !strings.Contains(got, `amount "120"`) {
		t.Errorf("conflict error %q does not say what clashed", got)
	}

	// Amounts are numbers with the currency's format; dates are dates.
	for _, c := range []struct{ id, name, fmt string }{
		{"mar-001", "fee", `#,##0.00 "USD"`},
		{"mar-001", "source_amount", `#,##0.00 "USD"`},
		{"mar-001", "destination_amount", `#,##0.00 "MXN"`},
		{"mar-009", "destination_amount", `#,##0 "JPY"`},
		{"mar-010", "destination_amount", `#,##0.00000000 "BTC"`},
		{"mar-001", "exchange_rate", "#,##0.00######"},
		{"mar-001", "updated_at", DateFormat},
		{"mar-001", "estimated_availability", DateFormat},
	} {
		if got := numFmt(cellStyle(t, f, SheetResults, ref(c.id, c.name))); got != c.fmt {
			t.Errorf("%s %s format %q, want %q", c.id, c.name, got, c.fmt)
		}
		if typ, _ := f.GetCellType(SheetResults, ref(c.id, c.name)); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Errorf("%s %s is %v, not a number", c.id, c.name, typ)
		}
	}
	if got := numFmt(cellStyle(t, f, SheetResults, cellRef(colIndex(t, header, "amount", 0), byID["mar-001"]))); got != `#,##0.00 "USD"` {
		t.Errorf("input amount format %q", got)
	}
	if got := cellAt("mar-010", "destination_amount"); got != "0.000525" {
		t.Errorf("BTC amount %q", got)
	}
	if got := excelTime(t, cellAt("mar-009", "status_changed_at")); !got.Equal(fixtureStatusTime) {
		t.Errorf("status_changed_at %v, want %v", got, fixtureStatusTime)
	}
	if got := cellAt("mar-001", "status_changed_at"); got != "" {
		t.Errorf("status_changed_at of a row reconcile never saw = %q, want empty", got)
	}
	if got := excelTime(t, cellAt("mar-001", "updated_at")); !got.Equal(fixtureClock) {
		t.Errorf("updated_at %v, want %v", got, fixtureClock)
	}
	if got := excelTime(t, cellAt("mar-001", "estimated_availability")); got.Format("2006-01-02T15:04") != "2026-04-01T10:00" {
		t.Errorf("estimated_availability %v", got)
	}

	// The KYC link is a clickable link to the upload page.
	ok, target, err := f.GetCellHyperLink(SheetResults, ref("mar-004", "kyc_upload_link"))
	if err != nil || !ok || target != fixtureKYCLink {
		t.Errorf("kyc link: ok=%v target=%q err=%v", ok, target, err)
	}
	if cellAt("mar-004", "kyc_upload_link") != fixtureKYCLink {
		t.Errorf("kyc link text %q", cellAt("mar-004", "kyc_upload_link"))
	}
	if st := cellStyle(t, f, SheetResults, ref("mar-004", "kyc_upload_link")); st.Font == nil || st.Font.Underline != "single" {
		t.Errorf("kyc link not styled as a link")
	}

	// Header frozen, filter on, columns sized.
	panes, err := f.GetPanes(SheetResults)
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("header not frozen: %+v %v", panes, err)
	}
	assertAutoFilter(t, f, SheetResults, "$A$1:$AF$12")
	if w, _ := f.GetColWidth(SheetResults, colName(col("action_needed"))); w < 36 {
		t.Errorf("action_needed width %v", w)
	}
	if w, _ := f.GetColWidth(SheetResults, colName(col("result"))); w < 13 {
		t.Errorf("result width %v too narrow for NEEDS_ACTION", w)
	}

	// Summary: counts match the ledger's, totals match the ledger's rows.
	counts, err := l.Counts(ctx, runID)
	if err != nil {
		t.Fatal(err)
	}
	pending := 0
	for s, n := range counts {
		if !s.Final() {
			pending += n
		}
	}
	summary := rawRows(t, f, SheetSummary)
	label := func(name string) []string {
		for _, r := range summary {
			if len(r) > 0 && r[0] == name {
				return r
			}
		}
		t.Fatalf("summary has no %q line", name)
		return nil
	}
	for _, k := range ResultKinds {
		want := counts[ledger.State(k)]
		if k == ResultPending {
			want = pending
		}
		if got := label(string(k))[1]; got != itoa(want) || sum.Counts[k] != want {
			t.Errorf("count %s = %s (summary %d), want %d", k, got, sum.Counts[k], want)
		}
	}
	var requested, paid, fees, notPaid decimal.Decimal
	for r, err := range l.Rows(ctx, ledger.RowFilter{RunID: runID}) {
		if err != nil {
			t.Fatal(err)
		}
		requested = requested.Add(r.Amount)
		if ResultOf(string(r.State)).Settled() {
			paid = paid.Add(r.Amount)
			if r.Fee.Valid {
				fees = fees.Add(r.Fee.Decimal)
			}
		} else {
			notPaid = notPaid.Add(r.Amount)
		}
	}
	var conflictAmt decimal.Decimal
	for c, err := range l.Conflicts(ctx, runID) {
		if err != nil {
			t.Fatal(err)
		}
		conflictAmt = conflictAmt.Add(c.Amount)
	}
	requested, notPaid = requested.Add(conflictAmt), notPaid.Add(conflictAmt)
	usd := label("USD")
	for i, want := range map[int]decimal.Decimal{2: requested, 3: paid, 4: fees, 5: paid.Add(fees), 6: notPaid} {
		if got := dec(usd[i]); !got.Equal(want) {
			t.Errorf("USD totals column %d = %s, want %s", i, got, want)
		}
	}
	if len(sum.Totals) != 1 || !sum.Totals[0].Paid.Equal(paid) || !sum.Totals[0].Fees.Equal(fees) {
		t.Errorf("returned totals %+v", sum.Totals)
	}
	if got := label("Sheet SHA-256")[1]; !strings.HasPrefix(got, "3f2a9c") {
		t.Errorf("sha %q", got)
	}
	if got := label("Environment")[1]; got != "sandbox" {
		t.Errorf("environment %q", got)
	}
	if bal := label("BTC"); len(bal) < 4 || bal[3] != "0" {
		t.Errorf("BTC balance line %v", bal)
	}
	if got := label("Rows needing action")[1]; got != "6" {
		t.Errorf("needing action %q", got)
	}

	// Needs action: only the rows that need a person, with the link.
	na := rawRows(t, f, SheetNeedsAction)
	var ids []string
	for _, r := range na[1:] {
		ids = append(ids, r[0])
	}
	if got := strings.Join(ids, ","); got != "mar-004,mar-005,mar-006,mar-007,dup-1,mar-011" {
		t.Errorf("needs action rows %s", got)
	}
	if ok, target, _ := f.GetCellHyperLink(SheetNeedsAction, "F2"); !ok || target != fixtureKYCLink {
		t.Errorf("needs action link %v %q", ok, target)
	}
	if na[1][1] != "Dev Patel" || na[1][4] != ActionKYC {
		t.Errorf("needs action row %v", na[1])
	}

	// Conflicts: the sheet's new value against the ledger's.
	cf := rawRows(t, f, SheetConflicts)
	if len(cf) != 2 || cf[1][1] != "dup-1" || cf[1][2] != "amount" || cf[1][3] != "120" || cf[1][4] != "100" || cf[1][5] != "1" {
		t.Errorf("conflicts sheet %v", cf)
	}
	if sum.Rows != 11 || sum.NeedsAction != 6 || sum.Conflicts != 1 {
		t.Errorf("summary %+v", sum)
	}
	assertNoTempFiles(t, filepath.Dir(out))
}

// TestWriteResultsCSV writes the same run as CSV and checks it carries the
// same values as the workbook, with amounts at the currency's decimals.
func TestWriteResultsCSV(t *testing.T) {
	ctx := context.Background()
	l, runID, sheet := buildFixtureLedger(t)
	out := DefaultResultsPath(sheet, ingest.FormatCSV)
	sum, err := WriteResults(ctx, l, runID, out, ResultsOptions{Format: ingest.FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(sum.SummaryPath) != "march.summary.csv" {
		t.Errorf("summary path %s", sum.SummaryPath)
	}
	recs := readCSV(t, out)
	header := recs[0]
	if len(recs) != 12 {
		t.Fatalf("%d records, want header + 11", len(recs))
	}
	get := func(id, name string) string {
		for _, r := range recs[1:] {
			if r[0] == id {
				return r[colIndex(t, header, name, 0)]
			}
		}
		t.Fatalf("no row %s", id)
		return ""
	}
	for _, c := range []struct{ id, name, want string }{
		{"mar-001", "result", "PAID"},
		{"mar-001", "fee", "3.99"},
		{"mar-001", "destination_amount", "1837.00"},
		{"mar-009", "destination_amount", "15025"},
		{"mar-010", "destination_amount", "0.00052500"},
		{"mar-010", "exchange_rate", "0.0000105"},
		{"mar-001", "updated_at", "2026-03-31T14:30:00Z"},
		{"mar-004", "kyc_upload_link", fixtureKYCLink},
		{"mar-011", "result", "PENDING"},
		{"dup-1", "result", "CONFLICT"},
	} {
		if got := get(c.id, c.name); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.id, c.name, got, c.want)
		}
	}
	summary := readCSV(t, sum.SummaryPath)
	found := map[string]bool{}
	for _, r := range summary {
		if len(r) >= 2 {
			found[r[0]+"="+r[1]] = true
		}
	}
	for _, want := range []string{"PAID=3", "NEEDS_ACTION=2", "PENDING=1", "CONFLICT=1", "Run=2", "Environment=sandbox"} {
		if !found[want] {
			t.Errorf("summary.csv lacks %s", want)
		}
	}
	if !found["sheet_line=client_transfer_id"] {
		t.Errorf("summary.csv lacks the conflicts table")
	}
	assertNoTempFiles(t, filepath.Dir(out))
}

// failingSource fails after a few rows, as a lost ledger would.
type failingSource struct {
	ResultsSource
	after int
}

func (s *failingSource) ResultRows(ctx context.Context, fn func(*ResultRow) error) error {
	n := 0
	return s.ResultsSource.ResultRows(ctx, func(r *ResultRow) error {
		if n++; n > s.after {
			return errors.New("disk gone")
		}
		return fn(r)
	})
}

func assertAutoFilter(t *testing.T, f *excelize.File, sheet, ref string) {
	t.Helper()
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm._FilterDatabase" && strings.Contains(dn.RefersTo, sheet) {
			if !strings.HasSuffix(dn.RefersTo, ref) {
				t.Errorf("filter on %s, want %s", dn.RefersTo, ref)
			}
			return
		}
	}
	t.Errorf("no autofilter on %s", sheet)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func colName(i int) string {
	n, _ := excelize.ColumnNumberToName(i + 1)
	return n
}

func itoa(n int) string { return decimal.NewFromInt(int64(n)).String() }
