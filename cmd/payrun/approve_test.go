package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// TestRequireApproval walks maker-checker end to end with require_approval
// set in payrun.toml: no plan, self-approval, pending, approved, modified.
func TestRequireApproval(t *testing.T) {
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "pay.db")
	cfg := filepath.Join(dir, "payrun.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("require_approval = true\nledger = %q\n", ledgerPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	sheet := filepath.Join(dir, "june.csv")
	writeSheet(t, sheet, "APR", 1, 2, 3)
	env := map[string]string{"PAYRUN_CONFIG": cfg}
	runSheet := func() (int, string) {
		code, out, errs := runIn(t, env, "run", "--sandbox", "--yes", sheet)
		return code, out + errs
	}

	code, out := runSheet()
	if code != ExitUsage || !strings.Contains(out, "no plan of this sheet was recorded") {
		t.Fatalf("unplanned sheet: exit %d, want 2 and a reason:\n%s", code, out)
	}
	if code, out, errs := runIn(t, env, "plan", "--sandbox", "--as", "bob", sheet); code != 0 || !strings.Contains(out, "Recorded as plan 1") {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	// The approver works from an OS account of their own: the
	// preparer's may not approve under any name.
	asOSAccount(t, "alice@laptop")
	if code, _, errs := runIn(t, env, "approve", "--as", "bob", "1"); code != ExitUsage || !strings.Contains(errs, "they prepared it") {
		t.Fatalf("self-approval: exit %d, want 2:\n%s", code, errs)
	}
	if code, out := runSheet(); code != ExitUsage || !strings.Contains(out, "waits for approval") {
		t.Fatalf("pending plan: exit %d, want 2:\n%s", code, out)
	}
	if code, out, errs := runIn(t, env, "approve", "--as", "alice", "1"); code != 0 || !strings.Contains(out, "approved by alice") {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errs)
	}
	// The approved bytes, edited afterwards, are another sheet.
	orig, _ := os.ReadFile(sheet)
	edited := bytes.Replace(orig, []byte("1711.01"), []byte("9711.01"), 1)
	if bytes.Equal(orig, edited) {
		t.Fatal("test sheet lacks the amount it edits")
	}
	os.WriteFile(sheet, edited, 0o600)
	if code, out := runSheet(); code != ExitUsage || !strings.Contains(out, "the sheet changed since plan 1") {
		t.Fatalf("modified sheet: exit %d, want 2:\n%s", code, out)
	}
	os.WriteFile(sheet, orig, 0o600)
	if code, out := runSheet(); code != 0 || !strings.Contains(out, "PAID 3") {
		t.Fatalf("approved sheet: exit %d, want 0:\n%s", code, out)
	}

	l, err := ledger.Open(context.Background(), ledgerPath, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var trail []string
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case ledger.EventPlan, ledger.EventApproval, ledger.EventRun:
			trail = append(trail, string(ev.Kind)+": "+ev.Message)
		}
	}
	got := strings.Join(trail, "\n")
	for _, want := range []string{"plan: plan 1 prepared by bob", "approval: plan 1 approved by alice", "refused: no plan",
		"refused: plan 1 of this sheet, prepared by bob, waits", "refused: the sheet changed", "pays plan 1, prepared by bob and approved by alice"} {
		if !strings.Contains(got, want) {
			t.Errorf("event trail lacks %q:\n%s", want, got)
		}
	}
}
