package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func recordPlan(t *testing.T, l *ledger.Ledger, sha, by string) ledger.Plan {
	t.Helper()
	p, err := l.RecordPlan(context.Background(), ledger.PlanInfo{
		SheetName: "march.xlsx", SheetSHA256: sha, Rows: 3, PreparedBy: by, Environment: "sandbox",
		Totals: map[string]decimal.Decimal{"USD": decimal.RequireFromString("1234.50"), "EUR": decimal.RequireFromString("10.00")},
	})
	if err != nil {
		t.Fatalf("RecordPlan: %v", err)
	}
	return p
}

func TestPlanRecordApproveFind(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		p := recordPlan(t, l, shaA, "bob")
		if p.ID == 0 || p.Status != ledger.PlanPending || p.Rows != 3 || p.PreparedBy != "bob" {
			t.Fatalf("recorded plan = %+v", p)
		}
		if got := p.Totals["USD"].StringFixed(2); got != "1234.50" {
			t.Errorf("USD total = %s", got)
		}
		if _, err := l.ApprovedPlanFor(ctx, shaA); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("ApprovedPlanFor before approval: err = %v, want ErrNotFound", err)
		}
		ap, err := l.ApprovePlan(ctx, p.ID, "Alice", false)
		if err != nil {
			t.Fatalf("ApprovePlan: %v", err)
		}
		if ap.Status != ledger.PlanApproved || ap.DecidedBy != "Alice" || ap.DecidedAt.IsZero() {
			t.Errorf("approved plan = %+v", ap)
		}
		got, err := l.ApprovedPlanFor(ctx, strings.ToUpper(shaA))
		if err != nil || got.ID != p.ID {
			t.Fatalf("ApprovedPlanFor = %+v, %v", got, err)
		}
		if _, err := l.ApprovedPlanFor(ctx, shaB); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("another sheet's hash found an approval: %v", err)
		}
		// A decision is final, even for a second approver.
		if _, err := l.ApprovePlan(ctx, p.ID, "carol", false); !errors.Is(err, ledger.ErrPlanDecided) {
			t.Errorf("second approval: err = %v, want ErrPlanDecided", err)
		}
		if _, err := l.RejectPlan(ctx, p.ID, "carol", "late"); !errors.Is(err, ledger.ErrPlanDecided) {
			t.Errorf("reject after approval: err = %v, want ErrPlanDecided", err)
		}
		var kinds []string
		for ev, err := range l.Events(ctx, ledger.EventFilter{}) {
			if err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, string(ev.Kind)+": "+ev.Message)
		}
		want := []string{
			"plan: plan 1 prepared by bob: march.xlsx (3 rows, EUR 10.00, USD 1234.50)",
			"approval: plan 1 approved by Alice: march.xlsx (3 rows, EUR 10.00, USD 1234.50; prepared by bob)",
		}
		if strings.Join(kinds, "\n") != strings.Join(want, "\n") {
			t.Errorf("events:\n%s\nwant:\n%s", strings.Join(kinds, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestPlanSelfApprovalRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		p := recordPlan(t, l, shaA, "bob")
		for _, who := range []string{"bob", " BOB "} {
			if _, err := l.ApprovePlan(ctx, p.ID, who, false); !errors.Is(err, ledger.ErrSelfApproval) {
				t.Fatalf("ApprovePlan by %q: err = %v, want ErrSelfApproval", who, err)
			}
		}
		if got, _ := l.Plan(ctx, p.ID); got.Status != ledger.PlanPending {
			t.Fatalf("a refused self-approval changed the plan: %+v", got)
		}
		if _, err := l.ApprovedPlanFor(ctx, shaA); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("refused self-approval left an approval: %v", err)
		}
		// Configured small teams may allow it; it is still recorded by name.
		ap, err := l.ApprovePlan(ctx, p.ID, "bob", true)
		if err != nil || ap.DecidedBy != "bob" {
			t.Fatalf("allowed self-approval: %+v, %v", ap, err)
		}
	})
}

func TestPlanRejectAndList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, path := b.openTemp(t)
		p1 := recordPlan(t, l, shaA, "bob")
		p2 := recordPlan(t, l, shaB, "bob")
		rp, err := l.RejectPlan(ctx, p1.ID, "bob", "wrong month")
		if err != nil || rp.Status != ledger.PlanRejected || rp.Reason != "wrong month" {
			t.Fatalf("RejectPlan = %+v, %v", rp, err)
		}
		if _, err := l.ApprovePlan(ctx, p1.ID, "alice", false); !errors.Is(err, ledger.ErrPlanDecided) {
			t.Errorf("approve after reject: err = %v, want ErrPlanDecided", err)
		}
		if _, err := l.ApprovePlan(ctx, 99, "alice", false); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("approve unknown plan: err = %v, want ErrNotFound", err)
		}
		pend, err := l.Plans(ctx, ledger.PlanFilter{Status: ledger.PlanPending})
		if err != nil || len(pend) != 1 || pend[0].ID != p2.ID {
			t.Fatalf("pending plans = %+v, %v", pend, err)
		}
		all, err := l.Plans(ctx, ledger.PlanFilter{SheetName: "march.xlsx"})
		if err != nil || len(all) != 2 || all[0].ID != p2.ID {
			t.Fatalf("plans of march.xlsx (newest first) = %+v, %v", all, err)
		}
		n := 0
		for ev, err := range l.Events(ctx, ledger.EventFilter{Kind: ledger.EventRejection}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if !strings.Contains(ev.Message, "wrong month") || !strings.Contains(string(ev.Data), `"plan_id":1`) {
				t.Errorf("rejection event = %+v", ev)
			}
		}
		if n != 1 {
			t.Errorf("%d rejection events, want 1", n)
		}
		// The database itself keeps a decision final.
		if _, err := rawDB(t, path).Exec(`UPDATE plans SET status = 'approved' WHERE id = ?`, p1.ID); err == nil || !strings.Contains(err.Error(), "a decided plan is final") {
			t.Error("the database let a rejected plan become approved")
		}
		if _, err := rawDB(t, path).Exec(`DELETE FROM plans`); err == nil || !strings.Contains(err.Error(), "plans are never deleted") {
			t.Error("the database let plans be deleted")
		}
	})
}

func TestRecordPlanRefusesBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l, _ := b.openTemp(t)
		for _, in := range []ledger.PlanInfo{
			{SheetName: "a.csv", SheetSHA256: "abc", PreparedBy: "bob"},
			{SheetName: "a.csv", SheetSHA256: shaA, PreparedBy: "  "},
			{SheetName: "a.csv", SheetSHA256: shaA, PreparedBy: "bob", Rows: -1},
		} {
			if _, err := l.RecordPlan(context.Background(), in); err == nil {
				t.Errorf("RecordPlan(%+v) succeeded", in)
			}
		}
	})
}
