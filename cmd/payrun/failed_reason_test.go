package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestFailedReasonReadsAsASentence: the demo's load MassPay refuses (magic
// cents .13). Its reason, in payrun status and in the results workbook,
// ended in MassPay's raw field list and code ("... (load_refused): amount");
// it must read as a sentence: what MassPay refused, about which field.
func TestFailedReasonReadsAsASentence(t *testing.T) {
	dir := t.TempDir()
	sheet := filepath.Join(dir, "s.csv")
	writeFreelancerSheet(t, sheet, "REF", 198) // 2026-06-FL-0198, a load of ... .13
	led, out := filepath.Join(dir, "p.db"), filepath.Join(dir, "r.xlsx")
	if code, so, se := runIn(t, nil, "run", "--sandbox", "--yes", "--ledger", led, "--out", out, sheet); code != ExitAttention {
		t.Fatalf("run: exit %d\n%s%s", code, so, se)
	}
	_, status, _ := runIn(t, nil, "status", "--ledger", led)
	var fromStatus string
	for _, line := range strings.Split(status, "\n") {
		if _, r, ok := strings.Cut(line, "[FAILED]: "); ok {
			fromStatus = r
		}
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fromBook string
	for _, name := range f.GetSheetList() {
		rows, _ := f.GetRows(name)
		for _, r := range rows {
			for _, c := range r {
				if strings.HasPrefix(c, "MassPay refused") {
					fromBook = c
				}
			}
		}
	}
	for what, reason := range map[string]string{"status": fromStatus, "results": fromBook} {
		if !strings.HasPrefix(reason, "MassPay refused to load the payee's wallet: the load was refused") {
			t.Errorf("%s: reason %q, want MassPay's refusal of the load\n%s", what, reason, status)
			continue
		}
		if strings.HasSuffix(reason, ": amount") || strings.Contains(reason, "(load_refused)") || !strings.HasSuffix(reason, ".") {
			t.Errorf("%s: reason %q ends in MassPay's raw field list or code, not as a sentence", what, reason)
		}
		if !strings.Contains(reason, "amount") {
			t.Errorf("%s: reason %q no longer says which field MassPay named", what, reason)
		}
	}
}
