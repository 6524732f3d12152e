package batch

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// The runner's end-to-end tests run the real runner against a real embedded
// sandbox over loopback, with a real SQLite ledger and a real sheet file.
// Nothing is mocked; a countingTransport only observes requests.

// sheetHeader is the column set the runner tests write.
var sheetHeader = []string{
	"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "method",
	"amount", "source_currency", "destination_currency", "delivery_type", "payer_name",
	"attr:BankAccountNumber", "attr:BankRoutingNumber", "attr:WalletAddress", "notes",
}

// sheetLine is one row of a test sheet.
type sheetLine struct {
	id, user, first, last, email, country, method, amount, src, dst, delivery, payer, account, routing, wallet string
}

func (s sheetLine) cells() []string {
	return []string{s.id, s.user, s.first, s.last, s.email, s.country, s.method, s.amount, s.src, s.dst,
		s.delivery, s.payer, s.account, s.routing, s.wallet, "runner test"}
}

// loadLine is a USD wallet load to payee n.
func loadLine(id string, n int, amount string) sheetLine {
	return sheetLine{id: id, user: fmt.Sprintf("u-%03d", n), first: "Ana", last: fmt.Sprintf("Load%03d", n),
		email: fmt.Sprintf("ana.load%03d@example.com", n), country: "USA", method: "load", amount: amount, src: "USD"}
}

// bankLine is a USD bank deposit in the USA to payee n.
func bankLine(id string, n int, amount string) sheetLine {
	return sheetLine{id: id, user: fmt.Sprintf("u-%03d", n), first: "Ben", last: fmt.Sprintf("Bank%03d", n),
		email: fmt.Sprintf("ben.bank%03d@example.com", n), country: "USA", method: "payout", amount: amount, src: "USD",
		dst: "USD", delivery: "BANK_DEPOSIT", payer: "Bank Deposit", account: "12345678", routing: "021000021"}
}

// cryptoLine is a USD payout in bitcoin to payee n.
func cryptoLine(id string, n int, amount string) sheetLine {
	return sheetLine{id: id, user: fmt.Sprintf("u-%03d", n), first: "Cy", last: fmt.Sprintf("Coin%03d", n),
		email: fmt.Sprintf("cy.coin%03d@example.com", n), country: "PHL", method: "payout", amount: amount, src: "USD",
		dst: "BTC", delivery: "CRYPTOCURRENCY", payer: "Bitcoin", wallet: "bc1qv5hnv8nlke7rr396haxdjkk9updfkeycftwzse"}
}

// mixedLines is n rows cycling through loads, bank payouts and crypto, with
// amounts whose cents avoid every magic value.
func mixedLines(prefix string, n int) []sheetLine {
	out := make([]sheetLine, 0, n)
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("%s-%04d", prefix, i)
		amt := fmt.Sprintf("%d.%02d", 50+i*7%900, 20+i%70)
		switch i % 3 {
		case 0:
			out = append(out, loadLine(id, i, amt))
		case 1:
			out = append(out, bankLine(id, i, amt))
		default:
			out = append(out, cryptoLine(id, i, amt))
		}
	}
	return out
}

// writeSheetCSV writes lines as a CSV sheet and returns its path.
func writeSheetCSV(t testing.TB, dir string, lines []sheetLine) string {
	t.Helper()
	p := filepath.Join(dir, "sheet.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write(sheetHeader)
	for _, l := range lines {
		w.Write(l.cells())
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// rig is one world: an embedded sandbox, a counting client to it and a
// ledger file.
type rig struct {
	t     testing.TB
	ctx   context.Context
	srv   *sandbox.Server
	api   *masspay.Client
	calls *countingTransport
	led   *ledger.Ledger
	dir   string
}

// rigOptions tunes a rig.
type rigOptions struct {
	sandbox sandbox.Config
	// maxRetries is the client's own retry budget (0: the default).
	maxRetries int
	// clientLog, when set, receives the client's log lines.
	clientLog *zerolog.Logger
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	dir := t.TempDir()
	cfg := o.sandbox
	if cfg.APIKey == "" {
		cfg.APIKey = sandbox.DefaultAPIKey
	}
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	srv, err := sandbox.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	calls := &countingTransport{n: map[string]int{}}
	api, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: cfg.APIKey,
		HTTPClient: &http.Client{Transport: calls}, MaxRetries: o.maxRetries, Logger: o.clientLog,
		MinRetryBackoff: 5 * time.Millisecond, MaxRetryBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	led, err := ledger.Open(ctx, filepath.Join(dir, "payrun.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{t: t, ctx: ctx, srv: srv, api: api, calls: calls, led: led, dir: dir}
	t.Cleanup(func() { g.led.Close() })
	return g
}

// reopenLedger closes the ledger and opens the same file again, stamped by
// clock: a later process, possibly at a later time.
func (g *rig) reopenLedger(clock func() time.Time) {
	g.t.Helper()
	path := g.led.Path()
	if err := g.led.Close(); err != nil {
		g.t.Fatal(err)
	}
	led, err := ledger.Open(g.ctx, path, ledger.Options{Clock: clock})
	if err != nil {
		g.t.Fatal(err)
	}
	g.led = led
}

// ingest begins a run of the sheet at path and records its rows, as
// `payrun run` does.
func (g *rig) ingest(path string) int64 {
	g.t.Helper()
	run, err := g.led.BeginRun(g.ctx, ledger.RunInfo{SheetName: path, SheetSHA256: "test", Environment: "sandbox"})
	if err != nil {
		g.t.Fatal(err)
	}
	if _, err := ingest.RecordSheet(g.ctx, g.led, run.ID, path, ingest.IngestOptions{}, nil); err != nil {
		g.t.Fatal(err)
	}
	return run.ID
}

// runner is a Runner on the rig with quick unknown-outcome retries.
func (g *rig) runner(workers int) *Runner {
	return &Runner{API: g.api, Ledger: g.led, Workers: workers, Log: zerolog.Nop(),
		UnknownOutcomeRetries: 20, RetryWait: 10 * time.Millisecond}
}

// run works runID to the end and fails the test on a run error.
func (g *rig) run(runID int64, workers int) Stats {
	g.t.Helper()
	st, err := g.runner(workers).Run(g.ctx, g.ctx, runID)
	if err != nil {
		g.t.Fatalf("run %d: %v", runID, err)
	}
	return st
}

// rows returns run runID's ledger rows by client_transfer_id.
func (g *rig) rows(runID int64) map[string]ledger.Row {
	g.t.Helper()
	out := map[string]ledger.Row{}
	for r, err := range g.led.Rows(g.ctx, ledger.RowFilter{RunID: runID}) {
		if err != nil {
			g.t.Fatal(err)
		}
		out[r.ID] = r
	}
	return out
}

// check proves the run's invariants: MassPay committed or loaded each
// client_transfer_id at most once; every row is final; ledger, audit and
// results workbook agree on every amount and fee. It returns the rows.
func (g *rig) check(runID int64) map[string]ledger.Row {
	g.t.Helper()
	rows := g.rows(runID)
	checkAgreement(g.t, g.srv.Audit(), rows)
	res, err := results.WriteResults(g.ctx, g.led, runID, filepath.Join(g.dir, fmt.Sprintf("results-%d.xlsx", runID)), results.ResultsOptions{})
	if err != nil {
		g.t.Fatalf("write results: %v", err)
	}
	checkResultsBook(g.t, res.Path, rows)
	return rows
}

// checkAgreement compares the sandbox's audit with the ledger rows.
func checkAgreement(t testing.TB, audit sandbox.Audit, rows map[string]ledger.Row) {
	t.Helper()
	committed := map[string]sandbox.AuditPayout{}
	for _, p := range audit.Payouts {
		if !p.Committed {
			continue
		}
		if prev, dup := committed[p.ClientTransferID]; dup {
			t.Errorf("client_transfer_id %s committed twice: %s and %s", p.ClientTransferID, prev.PayoutToken, p.PayoutToken)
		}
		committed[p.ClientTransferID] = p
	}
	loads := map[string]sandbox.AuditLoad{}
	for _, l := range audit.Loads {
		if prev, dup := loads[l.ClientLoadID]; dup {
			t.Errorf("client_load_id %s loaded twice: %s and %s", l.ClientLoadID, prev.LoadToken, l.LoadToken)
		}
		loads[l.ClientLoadID] = l
	}
	for id := range committed {
		if _, ok := rows[id]; !ok {
			t.Errorf("MassPay committed %s, which the ledger does not know", id)
		}
	}
	for id := range loads {
		if _, ok := rows[id]; !ok {
			t.Errorf("MassPay loaded %s, which the ledger does not know", id)
		}
	}
	for id, r := range rows {
		if !r.State.Final() {
			t.Errorf("row %s ended in %s, not a final state", id, r.State)
			continue
		}
		p, paid := committed[id]
		l, loaded := loads[id]
		switch r.State {
		case ledger.StatePaid:
			if !paid {
				t.Errorf("row %s is PAID in the ledger but MassPay has no committed payout", id)
				continue
			}
			if r.PayoutToken != p.PayoutToken {
				t.Errorf("row %s: ledger payout %s, MassPay %s", id, r.PayoutToken, p.PayoutToken)
			}
			eqAmount(t, id, "fee", r.Fee, p.Fee)
			eqAmount(t, id, "source_amount", r.SourceAmount, p.SourceAmount)
			eqAmount(t, id, "destination_amount", r.DestinationAmount, p.DestinationAmount)
		case ledger.StateLoaded, ledger.StateScheduled:
			if !loaded {
				t.Errorf("row %s is %s in the ledger but MassPay has no load", id, r.State)
				continue
			}
			if r.LoadToken != l.LoadToken {
				t.Errorf("row %s: ledger load %s, MassPay %s", id, r.LoadToken, l.LoadToken)
			}
			eqAmount(t, id, "source_amount", r.SourceAmount, l.Amount)
			eqAmount(t, id, "fee", r.Fee, decimal.Zero)
		default:
			// Not paid in the ledger: then not paid at MassPay either.
			if paid {
				t.Errorf("row %s is %s in the ledger but MassPay committed %s", id, r.State, p.PayoutToken)
			}
			if loaded && l.Status != masspay.LoadCancelled {
				t.Errorf("row %s is %s in the ledger but MassPay loaded %s", id, r.State, l.LoadToken)
			}
		}
	}
}

func eqAmount(t testing.TB, id, what string, got decimal.NullDecimal, want decimal.Decimal) {
	t.Helper()
	if !got.Valid || !got.Decimal.Equal(want) {
		t.Errorf("row %s: ledger %s %v, MassPay %s", id, what, got, want)
	}
}

// checkResultsBook opens the results workbook and compares every row's
// result, fee and amounts with the ledger.
func checkResultsBook(t testing.TB, path string, rows map[string]ledger.Row) {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open results: %v", err)
	}
	defer f.Close()
	all, err := f.GetRows(results.SheetResults, excelize.Options{RawCellValue: true})
	if err != nil || len(all) == 0 {
		t.Fatalf("read results: %v (%d rows)", err, len(all))
	}
	head := all[0]
	col := func(name string) int {
		for i := len(head) - 1; i >= 0; i-- { // result columns come last
			if head[i] == name {
				return i
			}
		}
		t.Fatalf("results lack column %q: %v", name, head)
		return -1
	}
	idC, resC, feeC, srcC, dstC := col("client_transfer_id"), col("result"), col("fee"), col("source_amount"), col("destination_amount")
	cell := func(r []string, i int) string {
		if i < len(r) {
			return r[i]
		}
		return ""
	}
	seen := 0
	for _, r := range all[1:] {
		id := cell(r, idC)
		lr, ok := rows[id]
		if !ok {
			t.Errorf("results list %q, which is not a row of the run", id)
			continue
		}
		seen++
		if got := cell(r, resC); got == "" {
			t.Errorf("results: row %s has no result", id)
		}
		for _, c := range []struct {
			name string
			i    int
			want decimal.NullDecimal
		}{{"fee", feeC, lr.Fee}, {"source_amount", srcC, lr.SourceAmount}, {"destination_amount", dstC, lr.DestinationAmount}} {
			raw := cell(r, c.i)
			if !c.want.Valid {
				if raw != "" {
					t.Errorf("results: row %s %s %q, ledger has none", id, c.name, raw)
				}
				continue
			}
			got, err := decimal.NewFromString(raw)
			if err != nil || !got.Equal(c.want.Decimal) {
				t.Errorf("results: row %s %s %q, ledger %s", id, c.name, raw, c.want.Decimal)
			}
		}
	}
	if seen != len(rows) {
		t.Errorf("results list %d rows, the ledger %d", seen, len(rows))
	}
}

// countStates counts rows by state.
func countStates(rows map[string]ledger.Row) map[ledger.State]int {
	out := map[ledger.State]int{}
	for _, r := range rows {
		out[r.State]++
	}
	return out
}

// events returns every ledger event of one row.
func (g *rig) events(id string) []ledger.Event {
	g.t.Helper()
	var out []ledger.Event
	for ev, err := range g.led.Events(g.ctx, ledger.EventFilter{TransferID: id}) {
		if err != nil {
			g.t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// must turns a (value, error) pair into the value, failing t on the error:
// must(f())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var _ = strings.TrimSpace
