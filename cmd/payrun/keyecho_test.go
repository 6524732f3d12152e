package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Passing the key itself where a key file's path belongs must not print
// the key: not in the error of a command that reads it, not in payrun
// config. http:// to a MassPay host that is not this machine is refused.
func TestAPIKeyGivenAsPathNotEchoed(t *testing.T) {
	const secret = "mp_live_Zq8SECRETv1x2"
	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.csv")
	writeRunCSV(t, sheet, runSheetRows("KEY", 1))
	env := map[string]string{"MASSPAY_ENV": "staging"}
	for _, args := range [][]string{
		{"plan", "--api-key-file", secret, "--ledger", filepath.Join(dir, "p.db"), sheet},
		{"config", "--api-key-file", secret},
	} {
		_, out, errs := runIn(t, env, args...)
		if strings.Contains(out+errs, "SECRET") {
			t.Errorf("payrun %s prints the key:\n%s\n%s", args[0], out, errs)
		}
	}
	_, out, errs := runIn(t, map[string]string{"MASSPAY_API_KEY_FILE": secret, "MASSPAY_ENV": "staging"}, "config")
	if strings.Contains(out+errs, "SECRET") {
		t.Errorf("payrun config with the key in MASSPAY_API_KEY_FILE prints it:\n%s\n%s", out, errs)
	}

	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("k-123"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runIn(t, map[string]string{"MASSPAY_API_KEY_FILE": keyFile}, "plan", "--base-url", "http://masspay.example/v1.0.0/payout",
		"--ledger", filepath.Join(dir, "p.db"), sheet)
	if code == ExitOK || !strings.Contains(out+errs, "https") {
		t.Errorf("plan over http:// to a remote host: exit %d\n%s\n%s", code, out, errs)
	}
}
