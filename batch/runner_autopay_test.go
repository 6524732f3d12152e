package batch

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// writeAutopayLoadSheet writes a sheet of wallet loads to Mexican payees
// that each ask for 25% of every load forwarded to their bank account.
func writeAutopayLoadSheet(t *testing.T, dir string, ids ...string) string {
	t.Helper()
	p := filepath.Join(dir, "autopay-loads.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"client_transfer_id", "internal_user_id", "first_name", "last_name", "email", "country", "method",
		"amount", "source_currency", "autopay_percentage", "attr:BankAccountNumber"})
	for _, id := range ids {
		w.Write([]string{id, "u-" + id, "Ana", "Lopez", id + "@example.com", "MEX", "load", "100.00", "USD", "25", "012345678901234567"})
	}
	w.Flush()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunnerAutopaySurvivesCrashAfterLoad stops a run right after a row's
// wallet load became LOADED and before its autopay rule was set up: the
// money moved, the rule did not. The next run must set the rule up (once),
// and a third run must not touch MassPay for it at all.
func TestRunnerAutopaySurvivesCrashAfterLoad(t *testing.T) {
	g := newRig(t, rigOptions{})
	sheet := writeAutopayLoadSheet(t, g.dir, "ap-1", "ap-2")

	// Run 1: the process "dies" at the first autopay.before boundary: both
	// contexts end there, as they do when the operator's SIGTERM lands.
	stop, cancelStop := context.WithCancel(g.ctx)
	calls, cancelCalls := context.WithCancel(g.ctx)
	var once sync.Once
	restore := faultpoint.SetHook(func(name string) {
		if name == "autopay.before" {
			once.Do(func() { cancelStop(); cancelCalls() })
		}
	})
	run1 := g.ingest(sheet)
	_, _ = g.runner(1).Run(stop, calls, run1)
	restore()
	first := g.rows(run1)["ap-1"]
	if first.State != ledger.StateLoaded || first.ActionNeeded != "" {
		t.Fatalf("after the crash ap-1 is %s with action %q; want LOADED and nothing for a person", first.State, first.ActionNeeded)
	}
	if rs := g.rulesOf(first.UserToken); len(rs) != 0 {
		t.Fatalf("ap-1 has rules %+v before the re-run; the crash point is not where the test thinks", rs)
	}

	// Run 2, the same sheet: ap-1's rule is set up at the end, ap-2 is
	// loaded and gets its rule on the way.
	run2 := g.ingest(sheet)
	g.run(run2, 1)
	rows := g.rows(run2)
	for _, id := range []string{"ap-1", "ap-2"} {
		row := rows[id]
		if row.State != ledger.StateLoaded || row.ActionNeeded != "" {
			t.Errorf("%s: %s, action %q", id, row.State, row.ActionNeeded)
		}
		rs := g.rulesOf(row.UserToken)
		if len(rs) != 1 || rs[0].Percentage.String() != "25" {
			t.Errorf("%s: rules %+v, want one of 25%%", id, rs)
		}
	}
	if n := len(g.srv.Audit().Loads); n != 2 {
		t.Errorf("%d loads in MassPay, want 2: nobody is loaded twice", n)
	}

	// Run 3: every rule is recorded as in place, so nothing is asked.
	run3 := g.ingest(sheet)
	g.calls.reset()
	g.run(run3, 1)
	if n := g.calls.count(http.MethodPost, http.MethodPut, http.MethodDelete); n != 0 {
		t.Errorf("run 3 sent %d writing requests", n)
	}
	if n := g.calls.count(); n > 1 { // the balance read at the start
		t.Errorf("run 3 sent %d requests, want only the balance read", n)
	}
}

// rulesOf lists the autopay rules of the payee's USD wallet.
func (g *rig) rulesOf(userToken string) []masspay.AutopayRule {
	g.t.Helper()
	ws, err := g.api.Wallets(g.ctx, userToken)
	if err != nil {
		g.t.Fatal(err)
	}
	var out []masspay.AutopayRule
	for _, w := range ws {
		rs, err := g.api.AutopayRules(g.ctx, userToken, w.Token)
		if err != nil {
			g.t.Fatal(err)
		}
		out = append(out, rs...)
	}
	return out
}

// TestRunnerAutopayWaitsOutMassPayErrors has MassPay answer every request
// with a server error from the moment a row is loaded: the rule cannot be set
// up, but that is nothing a person must fix. The row stays LOADED without an
// action, and the next run, with MassPay well again, sets the rule up.
func TestRunnerAutopayWaitsOutMassPayErrors(t *testing.T) {
	g := newRig(t, rigOptions{maxRetries: 1})
	sheet := writeAutopayLoadSheet(t, g.dir, "ap-9")
	restore := faultpoint.SetHook(func(name string) {
		if name == "autopay.before" {
			g.srv.SetFaults(sandbox.Faults{ErrorRate: 1})
		}
	})
	run1 := g.ingest(sheet)
	g.run(run1, 1)
	restore()
	row := g.rows(run1)["ap-9"]
	if row.State != ledger.StateLoaded || row.ActionNeeded != "" {
		t.Fatalf("ap-9 is %s with action %q; a server error is not a person's job", row.State, row.ActionNeeded)
	}
	g.srv.SetFaults(sandbox.Faults{})
	if rs := g.rulesOf(row.UserToken); len(rs) != 0 {
		t.Fatalf("rules %+v set up while MassPay failed", rs)
	}
	run2 := g.ingest(sheet)
	g.run(run2, 1)
	if rs := g.rulesOf(row.UserToken); len(rs) != 1 {
		t.Fatalf("after the re-run: rules %+v, want one", rs)
	}
	if n := len(g.srv.Audit().Loads); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}
