package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/payrun/payrun/batch/alert"
	"github.com/payrun/payrun/ledger"
)

// ConfigCommand prints the effective configuration: every setting, its value
// and where the value came from (flag, environment, configuration file or
// default), so a surprise in cron can be explained without guessing. The API
// key is never printed, only where it is read from.
type ConfigCommand struct {
	api             apiFlags
	logs            logFlags
	ledgerPath      string
	workers         int
	requireApproval bool
	settle          string
}

// Run prints the configuration a command given the same flags would use.
func (c *ConfigCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("config", "[flags]")
	c.api.register(fs)
	c.logs.register(fs)
	ledgerFlag(fs, &c.ledgerPath)
	workersFlag(fs, &c.workers)
	requireApprovalFlag(fs, &c.requireApproval)
	settleFlag(fs, &c.settle)
	if err := m.parseFlags(fs, args, "payrun config --config payrun.toml"); err != nil {
		return err
	}
	env := m.Getenv // the process environment, before any file is layered under it
	path, required := findConfig(c.logs.config, env)
	cf, err := loadConfigFile(path, required)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	fileVals := map[string]string{}
	fileDesc := "none (no ./payrun.toml; --config FILE or PAYRUN_CONFIG name one)"
	if cf != nil {
		fileVals, fileDesc = cf.values, cf.path
		if !required {
			fileDesc += " (found in the working directory)"
		}
	}
	fmt.Fprintf(m.Stdout, "Configuration file: %s\n\n", fileDesc)

	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
	for _, s := range settings {
		val, from := "", "default"
		switch {
		case s.flag != "" && given[s.flag]:
			val, from = fs.Lookup(s.flag).Value.String(), "flag --"+s.flag
		case env(s.env) != "":
			val, from = env(s.env), "env "+s.env
		case fileVals[s.env] != "" && !(s.env == "MASSPAY_API_KEY_FILE" && env("MASSPAY_API_KEY") != ""):
			val, from = fileVals[s.env], "config "+cf.path
		default:
			val = s.def
		}
		switch s.key {
		case "env":
			if c.api.sandbox {
				val, from = EnvSandbox, "flag --sandbox"
			} else if val == "" {
				val = "(none: a run needs MASSPAY_ENV=production|staging, --base-url, or --sandbox)"
			}
		case "ledger":
			if from == "default" {
				val = m.defaultLedgerName(c.api.sandbox)
			}
			val = ledger.Redact(val)
		case "api_key_file":
			if val != "" {
				val = keyFileShown(val)
			}
		case "smtp_url":
			if val != "" {
				val = alert.ShowSMTPURL(val)
			}
		case "alert_webhook_url":
			if val != "" {
				val = alert.ShowWebhookURL(val)
			}
		case "smtp_password_file":
			if val != "" {
				val = keyFileShown(val)
			}
		case "log_file":
			if val == "" {
				val = "(stderr: console lines on a terminal, JSON lines otherwise)"
			}
		}
		if val == "" {
			val = "(not set)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.key, val, from)
	}
	key, keyFrom := c.describeKey(env, fileVals, cf)
	fmt.Fprintf(tw, "%s\t%s\t%s\n", "api_key", key, keyFrom)
	tw.Flush()
	return nil
}

// describeKey says whether an API key is configured and where it is read
// from, in the order m.apiKey reads it, without ever reading it out.
func (c *ConfigCommand) describeKey(env func(string) string, fileVals map[string]string, cf *configFile) (string, string) {
	if c.api.sandbox {
		return "the sandbox's built-in key", "flag --sandbox"
	}
	file, from := c.api.keyFile, "flag --api-key-file"
	if file == "" {
		file, from = env("MASSPAY_API_KEY_FILE"), "env MASSPAY_API_KEY_FILE"
	}
	if file == "" && env("MASSPAY_API_KEY") != "" {
		return "set (redacted)", "env MASSPAY_API_KEY"
	}
	if file == "" && cf != nil {
		file, from = fileVals["MASSPAY_API_KEY_FILE"], "config "+cf.path+" (api_key_file)"
	}
	if file == "" {
		return "(not set)", "-"
	}
	b, err := os.ReadFile(file)
	switch {
	case err != nil:
		return "UNREADABLE: " + keyFileError(err).Error(), from
	case strings.TrimSpace(string(b)) == "":
		return "EMPTY file " + file, from
	}
	st, _ := os.Stat(file)
	note := ""
	// Windows has no mode bits (every file reads as 0666; ACLs decide who
	// can read it), so the warning would always be there and always wrong.
	if st != nil && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		note = fmt.Sprintf("; WARNING: mode %v lets others read it, chmod 600", st.Mode().Perm())
	}
	return "set (redacted), read from " + file + note, from
}

// defaultLedgerName is the ledger used when neither flag, environment nor
// file names one.
func (m *Main) defaultLedgerName(sandboxRun bool) string {
	if sandboxRun {
		return "payrun-sandbox.db"
	}
	return "payrun.db"
}

// keyFileShown is how a key file's path is shown (payrun config): as
// given when it names an existing file, else hidden, as it may be the key.
func keyFileShown(path string) string {
	if _, err := os.Stat(path); err != nil {
		return "(not shown: no such file, so it may be the key itself; give the path of a file holding the key)"
	}
	return path
}
