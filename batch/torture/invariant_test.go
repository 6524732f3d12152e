package torture

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// verdict is the invariant checked after a scenario.
type verdict struct {
	problems []string
	doubles  int // payments beyond the first for one row
	stuck    int // rows not final after the resumes
}

func (v verdict) ok() bool { return len(v.problems) == 0 }

func (v *verdict) addf(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v verdict) String() string {
	ps := v.problems
	if len(ps) > 12 {
		ps = append(ps[:12:12], fmt.Sprintf("... and %d more", len(v.problems)-12))
	}
	return strings.Join(ps, "\n  ")
}

// checkInvariant is the exactly-once invariant of a scenario, against the
// sandbox's audit view: every valid row paid or loaded exactly once, none
// twice, every row final, the ledger's totals equal to the audit's, and the
// results workbook (when given) equal to the ledger.
func checkInvariant(sh sheet, rows map[string]ledger.Row, a sandbox.Audit, resultsPath string) verdict {
	var v verdict
	committed := map[string][]sandbox.AuditPayout{}
	for _, p := range a.Payouts {
		if _, ours := sh.want[p.ClientTransferID]; ours && p.Committed {
			committed[p.ClientTransferID] = append(committed[p.ClientTransferID], p)
		}
	}
	loads := map[string][]sandbox.AuditLoad{}
	for _, l := range a.Loads {
		if _, ours := sh.want[l.ClientLoadID]; ours && l.Status != masspay.LoadCancelled {
			loads[l.ClientLoadID] = append(loads[l.ClientLoadID], l)
		}
	}
	ledgerPaid, auditPaid := map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
	ids := make([]string, 0, len(sh.want))
	for id := range sh.want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		want := sh.want[id]
		r, ok := rows[id]
		ps, ls := committed[id], loads[id]
		if n := len(ps) + len(ls); n > 1 {
			v.doubles += n - 1
			v.addf("%s: DOUBLE PAYMENT: %d committed payouts and %d loads at MassPay", id, len(ps), len(ls))
		}
		for _, p := range ps {
			auditPaid[p.SourceCurrencyCode] = auditPaid[p.SourceCurrencyCode].Add(p.SourceAmount)
		}
		for _, l := range ls {
			auditPaid[l.SourceCurrencyCode] = auditPaid[l.SourceCurrencyCode].Add(l.Amount)
		}
		if !ok {
			v.stuck++
			v.addf("%s: not in the ledger", id)
			continue
		}
		if !r.State.Final() {
			v.stuck++
			v.addf("%s: stuck in %s", id, r.State)
			continue
		}
		if r.State == ledger.StateFailed && len(ps)+len(ls) > 0 {
			v.addf("%s: FAILED although MassPay applied the call (%d payouts, %d loads)", id, len(ps), len(ls))
		}
		switch want {
		case wantPaid:
			if r.State != ledger.StatePaid || len(ps) != 1 {
				v.addf("%s: want PAID with one committed payout, ledger %s with %d (%s)", id, r.State, len(ps), r.LastError)
				continue
			}
			p := ps[0]
			if p.PayoutToken != r.PayoutToken || !p.SourceAmount.Equal(r.SourceAmount.Decimal) || !p.Fee.Equal(r.Fee.Decimal) {
				v.addf("%s: ledger says %s %s fee %s, MassPay committed %s %s fee %s", id, r.PayoutToken,
					r.SourceAmount.Decimal, r.Fee.Decimal, p.PayoutToken, p.SourceAmount, p.Fee)
			}
			ledgerPaid[r.SourceCurrency] = ledgerPaid[r.SourceCurrency].Add(r.SourceAmount.Decimal)
		case wantLoaded:
			if (r.State != ledger.StateLoaded && r.State != ledger.StateScheduled) || len(ls) != 1 {
				v.addf("%s: want LOADED with one load, ledger %s with %d (%s)", id, r.State, len(ls), r.LastError)
				continue
			}
			if ls[0].LoadToken != r.LoadToken || !ls[0].Amount.Equal(sh.amount[id]) {
				v.addf("%s: ledger load %s, MassPay %s of %s", id, r.LoadToken, ls[0].LoadToken, ls[0].Amount)
			}
			ledgerPaid[r.SourceCurrency] = ledgerPaid[r.SourceCurrency].Add(r.SourceAmount.Decimal)
		case wantNeedsAction:
			if r.State != ledger.StateNeedsAction || len(ps)+len(ls) != 0 {
				v.addf("%s: want NEEDS_ACTION and nothing paid, ledger %s (%s), MassPay %d payouts %d loads", id, r.State, r.LastError, len(ps), len(ls))
			}
		}
	}
	for _, cur := range unionKeys(ledgerPaid, auditPaid) {
		if !ledgerPaid[cur].Equal(auditPaid[cur]) {
			v.addf("totals %s: ledger %s, MassPay audit %s", cur, ledgerPaid[cur], auditPaid[cur])
		}
	}
	if resultsPath != "" {
		checkResults(&v, resultsPath, sh, rows)
	}
	return v
}

func unionKeys(a, b map[string]decimal.Decimal) []string {
	seen := map[string]bool{}
	var ks []string
	for _, m := range []map[string]decimal.Decimal{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				ks = append(ks, k)
			}
		}
	}
	sort.Strings(ks)
	return ks
}

// checkResults compares the Results sheet of the workbook with the ledger:
// the same rows, each with the ledger's result, payout and load token.
func checkResults(v *verdict, path string, sh sheet, rows map[string]ledger.Row) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		v.addf("results workbook: %v", err)
		return
	}
	defer f.Close()
	all, err := f.GetRows(results.SheetResults, excelize.Options{RawCellValue: true})
	if err != nil {
		v.addf("results workbook: %v", err)
		return
	}
	col := map[string]int{}
	start := -1
	for i, r := range all {
		for j, c := range r {
			if c == "client_transfer_id" {
				start = i + 1
			}
			if start == i+1 {
				col[c] = j
			}
		}
		if start >= 0 {
			break
		}
	}
	if start < 0 {
		v.addf("results workbook: no header row")
		return
	}
	cell := func(r []string, name string) string {
		if j, ok := col[name]; ok && j < len(r) {
			return r[j]
		}
		return ""
	}
	seen := 0
	for _, r := range all[start:] {
		id := cell(r, "client_transfer_id")
		if _, ours := sh.want[id]; !ours {
			continue
		}
		seen++
		lr := rows[id]
		if got, want := cell(r, "result"), string(results.ResultOf(string(lr.State))); got != want {
			v.addf("results %s: result %q, ledger %q", id, got, want)
		}
		if cell(r, "payout_token") != lr.PayoutToken || cell(r, "load_token") != lr.LoadToken {
			v.addf("results %s: tokens %q/%q, ledger %q/%q", id, cell(r, "payout_token"), cell(r, "load_token"), lr.PayoutToken, lr.LoadToken)
		}
	}
	if seen != len(sh.want) {
		v.addf("results workbook lists %d of the sheet's %d rows", seen, len(sh.want))
	}
}

// checkKeys reads the ledger's events and returns how many unknown
// outcomes it saw: after an unknown outcome with key K,
// the row leaves that state only under K (or on news that the quote expired,
// which is a known outcome), never under a fresh key.
func checkKeys(v *verdict, path string) (unknowns int) {
	ctx := context.Background()
	l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
	if err != nil {
		v.addf("open ledger: %v", err)
		return 0
	}
	defer l.Close()
	type pending struct {
		key   string
		state ledger.State
	}
	open := map[string]pending{}
	for ev, err := range l.Events(ctx, ledger.EventFilter{}) {
		if err != nil {
			v.addf("read events: %v", err)
			return unknowns
		}
		if ev.TransferID == "" {
			continue
		}
		if ev.Kind == ledger.EventAPICall && ev.From == ev.To && strings.HasPrefix(ev.Message, "outcome unknown") && ev.IdempotencyKey != "" {
			unknowns++
			if p, ok := open[ev.TransferID]; ok && p.state == ev.From && p.key != ev.IdempotencyKey {
				v.addf("%s: unknown outcome under %s, then again under NEW key %s in %s", ev.TransferID, p.key, ev.IdempotencyKey, ev.From)
			}
			open[ev.TransferID] = pending{ev.IdempotencyKey, ev.From}
			continue
		}
		p, ok := open[ev.TransferID]
		if !ok || ev.From != p.state || ev.To == ev.From {
			continue
		}
		delete(open, ev.TransferID)
		if ev.IdempotencyKey != "" && ev.IdempotencyKey != p.key && ev.MasspayStatus != masspay.CommitExRateExpired {
			v.addf("%s: outcome of %s unknown, then left %s under NEW key %s (%s)", ev.TransferID, p.key, p.state, ev.IdempotencyKey, ev.Message)
		}
	}
	return unknowns
}

// judge records v under family and fails the test naming how to replay it.
func judge(t testing.TB, fam, replay string, v verdict) {
	t.Helper()
	record(fam, v)
	if !v.ok() {
		t.Errorf("%s: invariant violated; replay with %s\n  %s", fam, replay, v)
	}
}
