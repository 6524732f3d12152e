package reconcile_test

import (
	"context"
	"testing"

	"github.com/payrun/payrun/batch/internal/paidrun"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// paidWorld is paidrun.World under the names these tests use.
type paidWorld struct {
	sb     *sandbox.Server
	clock  *sandbox.ManualClock
	client *masspay.Client
	l      *ledger.Ledger
	runID  int64
}

// newPaidWorld is paidrun.New: paidrun.Sheet paid by batch.Runner.
func newPaidWorld(t *testing.T, hookURL, secret string) *paidWorld {
	t.Helper()
	w := paidrun.New(t, hookURL, secret)
	return &paidWorld{sb: w.Sandbox, clock: w.Clock, client: w.Client, l: w.Ledger, runID: w.RunID}
}

func mustRow(t *testing.T, l *ledger.Ledger, id string) ledger.Row { return paidrun.MustRow(t, l, id) }

// truth is the sandbox's status of every committed payout and load, by
// client_transfer_id.
func (w *paidWorld) truth() map[string]string {
	out := map[string]string{}
	a := w.sb.Audit()
	for _, p := range a.Payouts {
		if p.Committed {
			out[p.ClientTransferID] = p.Status
		}
	}
	for _, l := range a.Loads {
		out[l.ClientLoadID] = l.Status
	}
	return out
}

// assertMatchesTruth fails unless every row's masspay_status is the sandbox's.
func (w *paidWorld) assertMatchesTruth(t *testing.T) {
	t.Helper()
	for id, want := range w.truth() {
		if got := mustRow(t, w.l, id).Status(); got != want {
			t.Errorf("row %s: ledger says %q, sandbox says %q", id, got, want)
		}
	}
}

func (w *paidWorld) statuses(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for row, err := range w.l.Rows(context.Background(), ledger.RowFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		out[row.ID] = row.Status()
	}
	return out
}

func flipEvents(t *testing.T, l *ledger.Ledger) []ledger.Event { return paidrun.FlipEvents(t, l) }
