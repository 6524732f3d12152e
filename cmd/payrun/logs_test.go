package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/masspay/sandbox"
)

// TestLogsJSONWithoutSecrets pays sheets holding bank details and wallet
// addresses through a sandbox with a secret key, logging at debug level
// with every request, and checks every line: JSON, no key, no payee
// detail, and run_id on the lines of the run (the MassPay client's too).
func TestLogsJSONWithoutSecrets(t *testing.T) {
	const key = "sk_live_DO-NOT-LOG-4f1c9a7e2b"
	srv, err := sandbox.Start(sandbox.Config{APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	// Every sample row with an attr: value, plus the crypto wallets.
	var secrets []string
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for i, src := range []string{"../../samples/monthly-freelancers.csv", "../../samples/crypto-payouts.csv"} {
		recs := readCSV(t, src)
		if i == 0 {
			w.Write(recs[0])
		}
		for _, rec := range recs[1:] {
			has := false
			for c, h := range recs[0] {
				// Three-digit bank codes also occur in timestamps and
				// latencies; account numbers, routing numbers, phones,
				// e-mails and wallets are what must never leak.
				if strings.HasPrefix(h, "attr:") && len(rec[c]) >= 6 {
					secrets, has = append(secrets, rec[c]), true
				}
			}
			if has {
				w.Write(rec)
			}
		}
	}
	w.Flush()
	sheet := filepath.Join(dir, "details.csv")
	os.WriteFile(sheet, b.Bytes(), 0o600)
	if len(secrets) < 30 {
		t.Fatalf("only %d attribute values in the samples", len(secrets))
	}
	logFile := filepath.Join(dir, "payrun.log")
	env := map[string]string{"MASSPAY_API_KEY": key, "MASSPAY_BASE_URL": srv.URL()}
	code, out, errs := runIn(t, env, "run", "--yes", "--debug", "--log-level", "debug", "--ledger", filepath.Join(dir, "pay.db"), sheet)
	if code != 0 && code != ExitAttention {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	// Same run's stderr (not a terminal) and a --log-file run both give JSON.
	code, _, errs2 := runIn(t, env, "run", "--yes", "--debug", "--log-file", logFile, "--ledger", filepath.Join(dir, "pay.db"), sheet)
	if code != 0 && code != ExitAttention {
		t.Fatalf("second run: exit %d\n%s", code, errs2)
	}
	fileLog, _ := os.ReadFile(logFile)
	var lines []string
	for _, l := range strings.Split(errs, "\n") {
		if strings.HasPrefix(l, "{") {
			lines = append(lines, l)
		}
	}
	fileLines := strings.Split(strings.TrimSpace(string(fileLog)), "\n")
	lines = append(lines, fileLines...)
	all := out + errs + errs2 + string(fileLog)
	if strings.Contains(all, key) {
		t.Fatal("the API key appears in the output or the log")
	}
	for _, s := range secrets {
		if strings.Contains(errs+string(fileLog), s) {
			t.Errorf("payee detail %q appears in the log", s)
		}
	}
	clientLines, runLines := 0, 0
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		// The balance read before the run begins has no run to name.
		if rec["component"] == "masspay" && rec["path"] != "/account/balance" {
			clientLines++
			if rec["run_id"] == nil {
				t.Errorf("MassPay client line of a run lacks run_id: %s", l)
			}
		}
		if rec["run_id"] != nil {
			runLines++
		}
	}
	if clientLines == 0 || runLines == 0 || len(fileLines) < 5 {
		t.Errorf("too few lines to judge: %d client, %d with run_id, %d in the file", clientLines, runLines, len(fileLines))
	}
}
