package reconcile_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/masspay"
)

func TestReconcileFollowsSandboxThroughFlip(t *testing.T) {
	ctx := context.Background()
	w := newPaidWorld(t, "", "")
	rec := &reconcile.Reconciler{API: w.client, Ledger: w.l, Workers: 4, Clock: w.clock.Now}

	reconcileAt := func(step string) reconcile.ReconcileReport {
		t.Helper()
		rep, err := rec.Reconcile(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if len(rep.Problems) > 0 {
			t.Fatalf("%s: problems %+v", step, rep.Problems)
		}
		if rep.Checked != 4 {
			t.Fatalf("%s: checked %d rows, want 4", step, rep.Checked)
		}
		for _, b := range rep.Balances {
			if !b.Difference.IsZero() {
				t.Fatalf("%s: %s balance off by %s (expected %s, actual %s)", step, b.Currency, b.Difference, b.Expected, b.Actual)
			}
		}
		w.assertMatchesTruth(t)
		return rep
	}

	w.sb.Advance(2 * time.Minute)
	rep := reconcileAt("after 2m")
	if len(rep.Changes) != 3 || len(rep.Flips) != 0 {
		t.Fatalf("after 2m: changes %+v flips %+v, want 3 payouts PROCESSING, no flip", rep.Changes, rep.Flips)
	}
	for _, c := range rep.Changes {
		if c.Now != masspay.StatusProcessing {
			t.Errorf("after 2m: %s is %s, want PROCESSING", c.ClientTransferID, c.Now)
		}
	}

	w.sb.Advance(4 * time.Minute)
	rep = reconcileAt("after 6m")
	want := map[string]string{"r-ok": "COMPLETED", "r-cancel": "CANCELLED", "r-flip": "COMPLETED"}
	if len(rep.Changes) != 3 || len(rep.Flips) != 0 {
		t.Fatalf("after 6m: changes %+v flips %+v", rep.Changes, rep.Flips)
	}
	for _, c := range rep.Changes {
		if want[c.ClientTransferID] != c.Now {
			t.Errorf("after 6m: %s -> %s, want %s", c.ClientTransferID, c.Now, want[c.ClientTransferID])
		}
	}
	if rep.NeedsAttention() {
		t.Fatal("after 6m: a plain cancellation is not a flip and needs no attention")
	}

	w.sb.Advance(30 * time.Minute)
	rep = reconcileAt("after 36m")
	if len(rep.Flips) != 1 {
		t.Fatalf("after 36m: flips %+v, want r-flip", rep.Flips)
	}
	f := rep.Flips[0]
	if f.ClientTransferID != "r-flip" || f.Was != "COMPLETED" || f.Now != "CANCELLED" || f.Token != mustRow(t, w.l, "r-flip").PayoutToken {
		t.Fatalf("flip = %+v", f)
	}
	if !f.SourceAmount.Valid || !f.SourceAmount.Decimal.Equal(decimal.RequireFromString("300.16")) || f.ActionNeeded == "" {
		t.Fatalf("flip amount/action = %+v", f)
	}
	if !rep.NeedsAttention() {
		t.Fatal("a flip needs attention")
	}

	// Nothing new: no change, no flip, and the ledger holds the flip once.
	rep = reconcileAt("second reconcile")
	if len(rep.Changes) != 0 || len(rep.Flips) != 0 || rep.NeedsAttention() {
		t.Fatalf("second reconcile: %+v", rep)
	}
	if evs := flipEvents(t, w.l); len(evs) != 1 {
		t.Fatalf("flip events = %d, want 1", len(evs))
	}
	if row := mustRow(t, w.l, "r-flip"); row.State != "PAID" || row.LaterStatusAt.IsZero() {
		t.Fatalf("r-flip row = %s at %v; reconcile must not move State and must stamp status_changed_at", row.State, row.LaterStatusAt)
	}

	// The summary tells the story.
	var sb strings.Builder
	rep.Flips = []results.Flip{f}
	if err := reconcile.WriteReconcileSummary(&sb, rep); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Flips", "r-flip", "COMPLETED -> CANCELLED", "USD"} {
		if !strings.Contains(sb.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, sb.String())
		}
	}

	// Regenerated results carry the flip on a "Flips" sheet.
	flips, err := reconcile.LedgerFlips(ctx, w.l, w.runID)
	if err != nil || len(flips) != 1 || flips[0].ClientTransferID != "r-flip" {
		t.Fatalf("LedgerFlips = %+v, %v", flips, err)
	}
	out := filepath.Join(t.TempDir(), "march.results.xlsx")
	if _, err := results.WriteResults(ctx, w.l, w.runID, out, results.ResultsOptions{Flips: flips}); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, err := x.GetRows(results.SheetFlips)
	if err != nil || len(rows) != 2 || rows[1][0] != "r-flip" || rows[1][2] != "COMPLETED" || rows[1][3] != "CANCELLED" {
		t.Fatalf("Flips sheet = %q, %v", rows, err)
	}
}

func TestReconcileReportsBalanceDifference(t *testing.T) {
	ctx := context.Background()
	w := newPaidWorld(t, "", "")
	w.sb.Advance(6 * time.Minute)
	w.sb.AdjustBalance("USD", decimal.RequireFromString("-12.34"))
	rec := &reconcile.Reconciler{API: w.client, Ledger: w.l, Clock: w.clock.Now}
	rep, err := rec.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var usd *reconcile.BalanceCheck
	for i := range rep.Balances {
		if rep.Balances[i].Currency == "USD" {
			usd = &rep.Balances[i]
		} else if !rep.Balances[i].Difference.IsZero() {
			t.Errorf("%s off by %s", rep.Balances[i].Currency, rep.Balances[i].Difference)
		}
	}
	if usd == nil || !usd.Difference.Equal(decimal.RequireFromString("-12.34")) {
		t.Fatalf("USD check = %+v, want a difference of -12.34", usd)
	}
	if !rep.NeedsAttention() {
		t.Fatal("a balance difference needs attention")
	}
	var sb strings.Builder
	if err := reconcile.WriteReconcileSummary(&sb, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "-12.34") {
		t.Fatalf("summary lacks the difference:\n%s", sb.String())
	}
}
