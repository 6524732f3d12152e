package exports_test

import (
	"testing"

	"github.com/payrun/payrun/batch/internal/paidrun"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// paidWorld is paidrun.World under the names batch/reconcile's tests use
// (a copy of their adapter: test files cannot be shared).
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
