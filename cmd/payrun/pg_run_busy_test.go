//go:build unix

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/pgtest"
)

// A payrun run in progress on a PostgreSQL ledger holds no ledger lock (its
// rows are shared out by claims), and yet what must not run beside it sees
// it, as on SQLite: payrun autopay apply and the inbox's ledger probe exit
// 3 naming the run, the inbox leaving its sheet in incoming; once the run
// is over both go ahead. Before run leases both went ahead during the run
// (autopay apply changed rules under it, the inbox paid its sheet).
func TestPostgresRunInProgressSeenByAutopayAndInbox(t *testing.T) {
	url := pgtest.URL(t)
	_, base := multiSandbox(t, 100*time.Millisecond)
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.xlsx")
	writeRunXLSX(t, sheet, runSheetRows("RB", 60))
	var errA bytes.Buffer
	a := startRunner(t, url, base, sheet, filepath.Join(dir, "june.results.xlsx"), &errA)
	waitDone(t, url, 3, &errA, new(bytes.Buffer))

	env := map[string]string{"MASSPAY_API_KEY": sandboxKey, "MASSPAY_BASE_URL": base}
	code, _, errs := runIn(t, env, "autopay", "apply", "--ledger", url, "../../samples/autopay-rules.csv")
	if code != ExitAborted || !strings.Contains(errs, "run in progress") || !strings.Contains(errs, "payrun run") {
		t.Errorf("autopay apply during a PostgreSQL run: exit %d, want 3 naming the run:\n%s", code, errs)
	}
	inbox := filepath.Join(dir, "inbox")
	os.MkdirAll(filepath.Join(inbox, "incoming"), 0o750)
	writeSheet(t, filepath.Join(inbox, "incoming", "a.csv"), "RBI", 1)
	code, out, errs := runIn(t, env, "inbox", "--once", "--settle", "10ms", "--ledger", url, inbox)
	if code != ExitAborted || !strings.Contains(errs, "run in progress") {
		t.Errorf("inbox during a PostgreSQL run: exit %d, want 3 naming the run:\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(inbox, "incoming", "a.csv")); err != nil {
		t.Errorf("the inbox moved its sheet during the run: %v", err)
	}

	if err := a.Wait(); err != nil {
		t.Fatalf("runner: %v\n%s", err, errA.String())
	}
	code, out, errs = runIn(t, env, "inbox", "--once", "--settle", "10ms", "--ledger", url, inbox)
	if code != ExitOK || !strings.Contains(out, "a.csv: done") {
		t.Errorf("inbox after the run: exit %d, want the sheet done:\n%s\n%s", code, out, errs)
	}
	if _, _, errs := runIn(t, env, "autopay", "apply", "--ledger", url, "../../samples/autopay-rules.csv"); strings.Contains(errs, "run in progress") {
		t.Errorf("autopay apply after the run still sees it:\n%s", errs)
	}
}
