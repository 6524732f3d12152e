package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigPrecedenceAndRedaction: flags beat env beat payrun.toml, the key
// is never printed, and a file holding the key is refused.
func TestConfigPrecedenceAndRedaction(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("sk_live_SECRET_IN_FILE\n"), 0o600)
	cfg := filepath.Join(dir, "payrun.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("env = \"staging\"\nworkers = 3\nrate_limit = 7.5\nlog_level = \"warn\"\napi_key_file = %q\ninbox_settle = \"2s\"\n", keyFile)), 0o600)
	env := map[string]string{"PAYRUN_CONFIG": cfg, "PAYRUN_WORKERS": "5", "MASSPAY_ENV": "production"}
	code, out, errs := runIn(t, env, "config", "--rate-limit", "9")
	if code != 0 {
		t.Fatalf("config: exit %d\n%s", code, errs)
	}
	for _, want := range []string{
		"env                  production", "env MASSPAY_ENV",
		"workers              5", "env PAYRUN_WORKERS",
		"rate_limit           9", "flag --rate-limit",
		"log_level            warn", "inbox_settle         2s", "config " + cfg,
		"set (redacted), read from " + keyFile,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errs, "SECRET_IN_FILE") {
		t.Fatal("payrun config printed the key")
	}
	// An environment key outranks the file's key file.
	env["MASSPAY_API_KEY"] = "sk_env"
	if _, out, _ := runIn(t, env, "config"); !strings.Contains(out, "env MASSPAY_API_KEY") || strings.Contains(out, "sk_env") {
		t.Errorf("env key not preferred, or printed:\n%s", out)
	}

	for name, text := range map[string]string{
		"key":     "api_key = \"sk_live_typed_by_mistake\"\n",
		"unknown": "require_aproval = true\n",
		"type":    "workers = \"many\"\n",
	} {
		p := filepath.Join(dir, name+".toml")
		os.WriteFile(p, []byte(text), 0o600)
		code, out, errs := runIn(t, nil, "config", "--config", p)
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
		if strings.Contains(out+errs, "sk_live_typed_by_mistake") {
			t.Errorf("%s: the refused key was echoed: %s", name, errs)
		}
	}
	// A run reads the file too: no environment at all, and production
	// needs saying so.
	os.WriteFile(cfg, []byte("base_url = \"https://api.masspay.io/v1.0.0/payout\"\n"), 0o600)
	sheet := filepath.Join(dir, "s.csv")
	writeSheet(t, sheet, "P", 1)
	code, _, errs = runIn(t, map[string]string{"PAYRUN_CONFIG": cfg, "MASSPAY_API_KEY": "k"}, "plan", "--ledger", filepath.Join(dir, "p.db"), sheet)
	if code != ExitUsage || !strings.Contains(errs, "production") {
		t.Errorf("production URL without MASSPAY_ENV=production: exit %d\n%s", code, errs)
	}
}
