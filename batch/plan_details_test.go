package batch

import (
	"errors"
	"strings"
	"testing"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/pricing"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/masspay"
)

// TestPlanNamesRowsMissingPayoutDetails: the sample sheet's row
// 2026-06-FL-0197 (a GBR bank deposit without its sort code) ends
// NEEDS_ACTION when run. The plan must say so beforehand, from the route's
// required attributes, instead of "every payout has a route" (issue 20,
// finding 4); and planning creates no payee.
func TestPlanNamesRowsMissingPayoutDetails(t *testing.T) {
	g := newRig(t, rigOptions{})
	sample := "../samples/monthly-freelancers.csv"

	// Month one on an empty MassPay: no payee exists to read a route's
	// requirements through, so the details are left to the run, and said.
	first, err := pricing.MakePlanWith(g.ctx, g.api, ingest.SheetRows(sample, ingest.IngestOptions{}), pricing.PlanOptions{CheckDetails: true, Ledger: g.led})
	if err != nil {
		t.Fatal(err)
	}
	if first.DetailsUnchecked == 0 || len(first.NeedDetails) != 0 {
		t.Errorf("empty MassPay: %d rows unchecked, %d needing details; want all unchecked", first.DetailsUnchecked, len(first.NeedDetails))
	}

	// An earlier month paid one payee: MassPay and the ledger know them.
	run := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{bankLine("EARLIER-1", 1, "120.40")}))
	g.run(run, 1)

	p, err := pricing.MakePlanWith(g.ctx, g.api, ingest.SheetRows(sample, ingest.IngestOptions{}), pricing.PlanOptions{CheckDetails: true, Ledger: g.led})
	if err != nil {
		t.Fatal(err)
	}
	var got *results.Quote
	for i, q := range p.NeedDetails {
		if q.ID == "2026-06-FL-0197" {
			got = &p.NeedDetails[i]
		}
	}
	if got == nil {
		t.Fatalf("the plan does not name 2026-06-FL-0197 as needing details: %+v", p.NeedDetails)
	}
	if !strings.Contains(got.Problem, "Sort code") || !strings.Contains(got.Problem, "attr:BankCode") {
		t.Errorf("row 0197's problem = %q, want the missing Sort code (attr:BankCode)", got.Problem)
	}
	if len(p.NeedDetails) != 1 {
		t.Errorf("%d rows need details, want 1 (only 0197 lacks one): %+v", len(p.NeedDetails), p.NeedDetails)
	}
	if p.OK() {
		t.Error("plan.OK() with a row that will end NEEDS_ACTION")
	}
	// The plan created nobody.
	if _, err := g.api.LookupUser(g.ctx, masspay.LookupUserParams{InternalUserID: "fl-gbr-197"}); !errors.Is(err, masspay.ErrNotFound) {
		t.Errorf("planning created payee fl-gbr-197 (lookup: %v)", err)
	}
}
