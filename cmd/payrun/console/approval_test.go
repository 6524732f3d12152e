package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

func TestRoles(t *testing.T) {
	e := newEnv(t)
	vic := e.signIn("vic")
	alice := e.signIn("alice")
	plan := alice.uploadPlan("june.csv", smallSheet("roles"))

	code, body := vic.get("/")
	if code != http.StatusOK || strings.Contains(body, `name="sheet"`) {
		t.Fatalf("viewer's home = %d, upload form shown: %v", code, strings.Contains(body, `name="sheet"`))
	}
	if resp, _ := vic.upload("x.csv", smallSheet("v")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer upload = %d, want 403", resp.StatusCode)
	}
	vic.get(plan)
	if resp, _ := vic.post(plan+"/approve", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer approve = %d, want 403", resp.StatusCode)
	}
	if resp, _ := vic.post(plan+"/run", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer run = %d, want 403", resp.StatusCode)
	}
	// A preparer prepares; approving is an approver's.
	code, body = alice.get(plan)
	if code != http.StatusOK || strings.Contains(body, `id="approve"`) {
		t.Fatalf("preparer's plan page = %d, approve button shown: %v", code, strings.Contains(body, `id="approve"`))
	}
	if resp, _ := alice.post(plan+"/approve", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("preparer approve = %d, want 403", resp.StatusCode)
	}
	if resp, _ := alice.post(plan+"/run", nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("run of a pending plan = %d, want 409", resp.StatusCode)
	}
	if p, _ := e.ledger.Plan(context.Background(), 1); p.Status != ledger.PlanPending {
		t.Fatalf("plan is %s after refused approvals", p.Status)
	}
	// Viewers read everything.
	for _, path := range []string{"/runs", plan} {
		if code, _ := vic.get(path); code != http.StatusOK {
			t.Errorf("viewer GET %s = %d", path, code)
		}
	}
}

func TestSelfApprovalRefused(t *testing.T) {
	e := newEnv(t)
	carol := e.signIn("carol") // an approver who also prepares
	plan := carol.uploadPlan("june.csv", smallSheet("self"))
	code, body := carol.get(plan)
	if code != http.StatusOK || strings.Contains(body, `id="approve"`) || !strings.Contains(body, "someone else must approve") {
		t.Fatalf("preparer-approver's own plan page = %d; approve button shown or no notice\n%s", code, body)
	}
	resp, body := carol.post(plan+"/approve", nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "You prepared this plan") {
		t.Fatalf("self-approval = %d\n%s", resp.StatusCode, body)
	}
	// The ledger is the rule's keeper too: even past the page, no.
	if _, err := e.ledger.ApprovePlan(context.Background(), 1, "CAROL", false); err == nil {
		t.Fatal("ledger approved a plan for its preparer")
	}
	if p, _ := e.ledger.Plan(context.Background(), 1); p.Status != ledger.PlanPending {
		t.Fatalf("plan is %s after self-approval, want pending", p.Status)
	}
	if !hasEvent(e.consoleEvents(), "carol tried to approve plan 1, which they prepared; refused") {
		t.Fatalf("refusal not in the ledger: %q", e.consoleEvents())
	}

	bob := e.signIn("bob")
	bob.get(plan)
	resp, _ = bob.post(plan+"/approve", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approval by another approver = %d", resp.StatusCode)
	}
	p, _ := e.ledger.Plan(context.Background(), 1)
	if p.Status != ledger.PlanApproved || p.DecidedBy != "bob" || p.PreparedBy != "carol" {
		t.Fatalf("plan after approval = %+v", p)
	}
	// A decision is final.
	resp, _ = bob.post(plan+"/approve", nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("second approval = %d, want 409", resp.StatusCode)
	}
}

func TestReject(t *testing.T) {
	e := newEnv(t)
	alice := e.signIn("alice")
	plan := alice.uploadPlan("june.csv", smallSheet("rej"))
	bob := e.signIn("bob")
	bob.get(plan)
	resp, _ := bob.post(plan+"/reject", url.Values{"reason": {"wrong month"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject = %d", resp.StatusCode)
	}
	p, _ := e.ledger.Plan(context.Background(), 1)
	if p.Status != ledger.PlanRejected || p.Reason != "wrong month" || p.DecidedBy != "bob" {
		t.Fatalf("plan after rejection = %+v", p)
	}
	alice.get(plan)
	if resp, _ := alice.post(plan+"/run", nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("run of a rejected plan = %d, want 409", resp.StatusCode)
	}
}
