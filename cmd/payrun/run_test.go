package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// runSheetHeader is the column set of the run tests' sheets.
var runSheetHeader = []string{
	"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "method", "amount",
	"source_currency", "destination_currency", "delivery_type", "payer_name",
	"attr:BankAccountNumber", "attr:BankRoutingNumber", "attr:WalletAddress",
}

// runSheetRows returns n clean rows cycling through a USD load, a USA bank
// deposit, a MEX bank deposit, a bitcoin, an ether and a USDT payout; cents
// avoid every sandbox magic value.
func runSheetRows(prefix string, n int) [][]string {
	var out [][]string
	for i := 1; i <= n; i++ {
		id, user := fmt.Sprintf("%s-%04d", prefix, i), fmt.Sprintf("%s-u%03d", strings.ToLower(prefix), i)
		email := fmt.Sprintf("payee%03d@%s.example.com", i, strings.ToLower(prefix))
		amt := fmt.Sprintf("%d.%02d", 40+i*13%700, 20+i%60)
		row := []string{id, user, "Pat", fmt.Sprintf("Payee%03d", i), email}
		switch i % 6 {
		case 0:
			row = append(row, "USA", "load", amt, "USD", "", "", "", "", "", "")
		case 1:
			row = append(row, "USA", "payout", amt, "USD", "USD", "BANK_DEPOSIT", "Bank Deposit", "0012345678", "021000021", "")
		case 2:
			row = append(row, "MEX", "payout", amt, "USD", "MXN", "BANK_DEPOSIT", "Bank Deposit", "012180001234567897", "", "")
		case 3:
			row = append(row, "PHL", "payout", amt, "USD", "BTC", "CRYPTOCURRENCY", "Bitcoin", "", "", "bc1qv5hnv8nlke7rr396haxdjkk9updfkeycftwzse")
		case 4:
			row = append(row, "PHL", "payout", amt, "USD", "ETH", "CRYPTOCURRENCY", "Ethereum", "", "", "0x1ad007f92130e2b90c7a8437537134c502f3355e")
		case 5:
			row = append(row, "CAN", "payout", amt, "USDT", "USDT", "CRYPTOCURRENCY", "Tether USDT", "", "", "0xcdd83974cd8379fbe187c3e834f6419619291f60")
		}
		out = append(out, row)
	}
	return out
}

// writeRunXLSX writes a real workbook (excelize) with the header and rows,
// every cell as text, as finance would type account numbers.
func writeRunXLSX(t *testing.T, path string, rows [][]string) {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for r, cells := range append([][]string{runSheetHeader}, rows...) {
		for c, v := range cells {
			ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellStr("Sheet1", ref, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

// writeRunCSV writes the header and rows as a CSV sheet.
func writeRunCSV(t *testing.T, path string, rows [][]string) {
	t.Helper()
	var b strings.Builder
	for _, r := range append([][]string{runSheetHeader}, rows...) {
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkPaidOnce proves a finished sheet's invariants: MassPay committed or
// loaded each client_transfer_id at most once; every row of the ledger's
// latest run is final; ledger and audit agree on every amount and fee; the
// results workbook agrees with the ledger. It returns the rows by id.
func checkPaidOnce(t testing.TB, audit sandbox.Audit, ledgerPath, resultsPath string) map[string]ledger.Row {
	t.Helper()
	ctx := context.Background()
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	run, err := l.LatestRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]ledger.Row{}
	for r, err := range l.Rows(ctx, ledger.RowFilter{RunID: run.ID}) {
		if err != nil {
			t.Fatal(err)
		}
		rows[r.ID] = r
	}
	if len(rows) == 0 {
		t.Fatal("the latest run has no rows")
	}
	payouts := map[string]sandbox.AuditPayout{}
	for _, p := range audit.Payouts {
		if !p.Committed {
			continue
		}
		if q, dup := payouts[p.ClientTransferID]; dup {
			t.Errorf("%s committed twice: %s and %s", p.ClientTransferID, q.PayoutToken, p.PayoutToken)
		}
		payouts[p.ClientTransferID] = p
	}
	loads := map[string]sandbox.AuditLoad{}
	for _, ld := range audit.Loads {
		if q, dup := loads[ld.ClientLoadID]; dup {
			t.Errorf("%s loaded twice: %s and %s", ld.ClientLoadID, q.LoadToken, ld.LoadToken)
		}
		loads[ld.ClientLoadID] = ld
	}
	same := func(id, what string, got decimal.NullDecimal, want decimal.Decimal) {
		if !got.Valid || !got.Decimal.Equal(want) {
			t.Errorf("%s: ledger %s %v, MassPay %s", id, what, got, want)
		}
	}
	for id, r := range rows {
		p, paid := payouts[id]
		ld, loaded := loads[id]
		switch {
		case !r.State.Final():
			t.Errorf("%s ended in %s, not final", id, r.State)
		case r.State == ledger.StatePaid:
			if !paid || p.PayoutToken != r.PayoutToken {
				t.Errorf("%s PAID as %s; MassPay committed %+v", id, r.PayoutToken, p)
				continue
			}
			same(id, "fee", r.Fee, p.Fee)
			same(id, "source_amount", r.SourceAmount, p.SourceAmount)
			same(id, "destination_amount", r.DestinationAmount, p.DestinationAmount)
		case r.State == ledger.StateLoaded || r.State == ledger.StateScheduled:
			if !loaded || ld.LoadToken != r.LoadToken {
				t.Errorf("%s %s as %s; MassPay loaded %+v", id, r.State, r.LoadToken, ld)
				continue
			}
			same(id, "source_amount", r.SourceAmount, ld.Amount)
			same(id, "fee", r.Fee, decimal.Zero)
		default:
			if paid || loaded {
				t.Errorf("%s is %s in the ledger, but MassPay paid it", id, r.State)
			}
		}
	}
	for id := range payouts {
		if _, ok := rows[id]; !ok {
			t.Errorf("MassPay committed %s, unknown to the ledger", id)
		}
	}
	for id := range loads {
		if _, ok := rows[id]; !ok {
			t.Errorf("MassPay loaded %s, unknown to the ledger", id)
		}
	}
	checkResultsAgree(t, resultsPath, rows)
	return rows
}

// checkResultsAgree opens the results workbook and compares each row's fee
// and amounts with the ledger.
func checkResultsAgree(t testing.TB, path string, rows map[string]ledger.Row) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open results: %v", err)
	}
	defer f.Close()
	all, err := f.GetRows(results.SheetResults, excelize.Options{RawCellValue: true})
	if err != nil || len(all) < 1 {
		t.Fatalf("read results: %v", err)
	}
	head := all[0]
	col := func(name string) int {
		for i := len(head) - 1; i >= 0; i-- {
			if head[i] == name {
				return i
			}
		}
		t.Fatalf("results lack %q", name)
		return 0
	}
	idC := col("client_transfer_id")
	get := func(r []string, i int) string {
		if i < len(r) {
			return r[i]
		}
		return ""
	}
	seen := 0
	for _, r := range all[1:] {
		lr, ok := rows[get(r, idC)]
		if !ok {
			t.Errorf("results row %q is not in the run", get(r, idC))
			continue
		}
		seen++
		if res := get(r, col("result")); res == "" {
			t.Errorf("%s: no result", lr.ID)
		}
		for name, want := range map[string]decimal.NullDecimal{"fee": lr.Fee, "source_amount": lr.SourceAmount, "destination_amount": lr.DestinationAmount} {
			raw := get(r, col(name))
			if !want.Valid {
				if raw != "" {
					t.Errorf("%s: results %s %q, ledger none", lr.ID, name, raw)
				}
				continue
			}
			if got, err := decimal.NewFromString(raw); err != nil || !got.Equal(want.Decimal) {
				t.Errorf("%s: results %s %q, ledger %s", lr.ID, name, raw, want.Decimal)
			}
		}
	}
	if seen != len(rows) {
		t.Errorf("results have %d rows, the run %d", seen, len(rows))
	}
}

func TestRunCleanSheetWithEmbeddedSandbox(t *testing.T) {
	dir := t.TempDir()
	sheet, ledgerPath, results := filepath.Join(dir, "june.xlsx"), filepath.Join(dir, "payrun.db"), filepath.Join(dir, "june-results.xlsx")
	writeRunXLSX(t, sheet, runSheetRows("CLN", 18))
	code, out, errs := runIn(t, map[string]string{}, "run", "--sandbox", "--yes", "--ledger", ledgerPath, "--out", results, sheet)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if !strings.Contains(out, "Results: "+results) {
		t.Errorf("summary does not name the results: %s", out)
	}
	// The embedded sandbox kept its state beside the ledger; read its audit.
	sb, err := sandbox.New(sandbox.Config{APIKey: sandbox.DefaultAPIKey, StateFile: sandboxStatePath(ledgerPath)})
	if err != nil {
		t.Fatal(err)
	}
	audit := sb.Audit()
	sb.Close()
	rows := checkPaidOnce(t, audit, ledgerPath, results)
	n := map[ledger.State]int{}
	for _, r := range rows {
		n[r.State]++
	}
	if n[ledger.StateLoaded] != 3 || n[ledger.StatePaid] != 15 {
		t.Errorf("states %v, want 3 LOADED and 15 PAID", n)
	}
	if len(audit.Payouts) != 15 {
		t.Errorf("MassPay holds %d payouts (committed or not), want 15: a quote was taken twice", len(audit.Payouts))
	}

	// Running the same command again changes nothing and still exits 0.
	code, out, errs = runIn(t, map[string]string{}, "run", "--sandbox", "--yes", "--ledger", ledgerPath, "--out", results, sheet)
	if code != ExitOK {
		t.Fatalf("re-run exit %d\n%s\n%s", code, out, errs)
	}
	sb, err = sandbox.New(sandbox.Config{APIKey: sandbox.DefaultAPIKey, StateFile: sandboxStatePath(ledgerPath)})
	if err != nil {
		t.Fatal(err)
	}
	again := sb.Audit()
	sb.Close()
	if len(again.Payouts) != len(audit.Payouts) || len(again.Loads) != len(audit.Loads) {
		t.Errorf("re-run created payouts or loads: %d/%d -> %d/%d", len(audit.Payouts), len(audit.Loads), len(again.Payouts), len(again.Loads))
	}
	checkPaidOnce(t, again, ledgerPath, results)
}

func TestRunProblemsExitOneAndUnderFaults(t *testing.T) {
	srv, err := sandbox.Start(sandbox.Config{APIKey: "fault-key", Seed: 3, Faults: sandbox.Faults{
		ErrorRate: 0.1, LostResponseRate: 0.2, RateLimit: 200, Latency: time.Millisecond, LatencyJitter: 3 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	sheet, ledgerPath, results := filepath.Join(dir, "mixed.csv"), filepath.Join(dir, "payrun.db"), filepath.Join(dir, "mixed.results.xlsx")
	rows := runSheetRows("FLT", 30)
	rows[0][4] = "held@kyc-hold.example" // a bank payout to a held payee
	rows[6][7] = "77.13"                 // a USA bank payout that fails at commit
	rows[5][7] = "88.13"                 // a load MassPay refuses
	rows[12][13] = ""                    // a missing routing number
	writeRunCSV(t, sheet, rows)
	env := map[string]string{"MASSPAY_API_KEY": "fault-key", "MASSPAY_ENV": "staging"}
	code, out, errs := runIn(t, env, "run", "--yes", "--base-url", srv.URL(), "--rate-limit", "1000",
		"--ledger", ledgerPath, "--out", results, sheet)
	for i := 0; code == ExitAborted && i < 3; i++ { // an interrupted run is finished by the next
		code, out, errs = runIn(t, env, "run", "--yes", "--base-url", srv.URL(), "--rate-limit", "1000",
			"--ledger", ledgerPath, "--out", results, sheet)
	}
	if code != ExitAttention {
		t.Fatalf("exit %d, want 1 (rows need action)\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, "fault-key") {
		t.Error("the API key appears in the output")
	}
	srv.SetFaults(sandbox.Faults{})
	got := checkPaidOnce(t, srv.Audit(), ledgerPath, results)
	want := map[string]ledger.State{"FLT-0001": ledger.StateNeedsAction, "FLT-0007": ledger.StateFailed,
		"FLT-0006": ledger.StateFailed, "FLT-0013": ledger.StateNeedsAction}
	for id, s := range want {
		if got[id].State != s {
			t.Errorf("%s: %s (%s), want %s", id, got[id].State, got[id].LastError, s)
		}
	}
	paid := 0
	for _, r := range got {
		if r.State == ledger.StatePaid || r.State == ledger.StateLoaded {
			paid++
		}
	}
	if paid != len(rows)-len(want) {
		t.Errorf("%d rows paid, want %d", paid, len(rows)-len(want))
	}
}
