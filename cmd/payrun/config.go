package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
)

// Configuration comes from three layers, first found wins: a command's
// flags, then the environment, then an optional TOML file (payrun.toml).
//
// Every file key stands for one environment variable (see settings), and the
// file is installed as a layer UNDER the environment: once loaded, m.Getenv
// answers a variable from the process environment first and from the file
// second. So every command that already reads MASSPAY_ENV, PAYRUN_LEDGER, ...
// honours the file without knowing it exists, and the precedence is the same
// everywhere. The file never holds the API key itself: a key in a file
// that is copied between machines and shown in reviews leaks; api_key_file
// names a file only payrun's user can read.

// setting is one configuration key.
type setting struct {
	key  string // in payrun.toml
	env  string // environment variable
	flag string // command-line flag, "" if none
	kind string // "string", "int", "number", "bool", "duration"
	def  string // default shown by payrun config
	help string
}

// settings are the keys payrun.toml may hold, in the order payrun config
// prints them.
var settings = []setting{
	{"env", "MASSPAY_ENV", "env", "string", "", "MassPay environment: production or staging"},
	{"base_url", "MASSPAY_BASE_URL", "base-url", "string", "", "MassPay base URL (instead of env)"},
	{"api_key_file", "MASSPAY_API_KEY_FILE", "api-key-file", "string", "", "file holding the API key (or env MASSPAY_API_KEY)"},
	{"ledger", "PAYRUN_LEDGER", "ledger", "string", "payrun.db", "the ledger file (payrun-sandbox.db with --sandbox)"},
	{"workers", "PAYRUN_WORKERS", "workers", "int", "", "rows paid at once (unset: adaptive)"},
	{"max_workers", "PAYRUN_MAX_WORKERS", "max-workers", "int", "64", "most rows paid at once while adapting"},
	{"rate_limit", "PAYRUN_RATE_LIMIT", "rate-limit", "number", "", "most MassPay requests per second (unset: MassPay's announced limit)"},
	{"require_approval", "PAYRUN_REQUIRE_APPROVAL", "require-approval", "bool", "false", "pay only sheets matching an approved plan"},
	{"allow_self_approval", "PAYRUN_ALLOW_SELF_APPROVAL", "", "bool", "false", "let a plan's preparer approve it"},
	{"log_level", "PAYRUN_LOG_LEVEL", "log-level", "string", "info", "debug, info, warn, error"},
	{"log_file", "PAYRUN_LOG_FILE", "log-file", "string", "", "append JSON log lines here (default stderr)"},
	{"decimal_mark", "PAYRUN_DECIMAL_MARK", "decimal-mark", "string", "", "decimal mark of text amounts in sheets, , or . (default: amounts that read two ways are mistakes)"},
	{"inbox_settle", "PAYRUN_INBOX_SETTLE", "settle", "duration", "5s", "payrun inbox: how long a new sheet's size and time must stay still"},
	{"smtp_url", "PAYRUN_SMTP_URL", "", "string", "", "alerts by email: smtp://[user@]host[:587] (STARTTLS) or smtps://[user@]host[:465]"},
	{"smtp_password_file", "PAYRUN_SMTP_PASSWORD_FILE", "", "string", "", "file holding the SMTP password"},
	{"smtp_ca_file", "PAYRUN_SMTP_CA_FILE", "", "string", "", "PEM certificates signing the SMTP server's (default: the system's roots)"},
	{"alert_from", "PAYRUN_ALERT_FROM", "", "string", "", "the alerts' From address"},
	{"alert_to", "PAYRUN_ALERT_TO", "", "string", "", "who gets alert emails (comma-separated), unless a kind has its own list"},
	{"alert_to_run", "PAYRUN_ALERT_TO_RUN", "", "string", "", "who gets the digest of a run's rows needing a person"},
	{"alert_to_flip", "PAYRUN_ALERT_TO_FLIP", "", "string", "", "who gets flip alerts"},
	{"alert_to_balance", "PAYRUN_ALERT_TO_BALANCE", "", "string", "", "who gets balance-difference alerts"},
	{"alert_webhook_url", "PAYRUN_ALERT_WEBHOOK_URL", "", "string", "", "alerts as JSON to this URL (Slack, Teams incoming webhook)"},
	{"kyc_notice", "PAYRUN_KYC_NOTICE", "kyc-notice", "string", "off", "email a held payee's upload link to: off, payee, compliance, both"},
	{"kyc_compliance_to", "PAYRUN_KYC_COMPLIANCE_TO", "", "string", "", "the compliance mailbox for KYC notices"},
	{"kyc_template", "PAYRUN_KYC_TEMPLATE", "", "string", "", "KYC notice text template (first line Subject: ...)"},
	{"kyc_template_html", "PAYRUN_KYC_TEMPLATE_HTML", "", "string", "", "KYC notice HTML template"},
	{"company_name", "PAYRUN_COMPANY_NAME", "", "string", "", "the company named in KYC notices"},
}

// ErrKeyInConfig means a configuration file holds the API key itself.
var ErrKeyInConfig = errors.New("the configuration file must not hold the API key")

// configFile is a loaded payrun.toml: its values by environment variable.
type configFile struct {
	path   string
	values map[string]string // env name -> value as text
}

// defaultConfigPath is the file read when neither --config nor
// PAYRUN_CONFIG names one; it is optional.
const defaultConfigPath = "payrun.toml"

// findConfig names the configuration file: --config, else PAYRUN_CONFIG
// (both must exist), else ./payrun.toml if it exists. path is "" when there
// is none.
func findConfig(flagVal string, getenv func(string) string) (path string, required bool) {
	if flagVal != "" {
		return flagVal, true
	}
	if v := getenv("PAYRUN_CONFIG"); v != "" {
		return v, true
	}
	return defaultConfigPath, false
}

// loadConfigFile reads and checks the TOML file at path. A missing optional
// file is no error and yields nil.
func loadConfigFile(path string, required bool) (*configFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil, nil
	}
	if err != nil {
		return nil, &UsageError{Err: fmt.Errorf("read config: %w", err), Hint: "payrun config --config samples/payrun.toml"}
	}
	cf, err := parseConfig(path, string(b))
	if err != nil {
		return nil, &UsageError{Err: err, Hint: "see samples/payrun.toml for the keys payrun.toml may hold"}
	}
	return cf, nil
}

// parseConfig decodes TOML text into a configFile, refusing unknown keys
// (a typo must not silently leave a safety setting off), nested tables,
// values of the wrong type, and any key that looks like the API key.
func parseConfig(path, text string) (*configFile, error) {
	var raw map[string]any
	if _, err := toml.Decode(text, &raw); err != nil {
		// toml's errors quote the offending line, which could hold a
		// secret typed by mistake; report the position only.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("parse config %s: line %d: %s", path, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("parse config %s: not valid TOML", path)
	}
	cf := &configFile{path: path, values: map[string]string{}}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if lk == "api_key" || lk == "apikey" || lk == "key" || lk == "masspay_api_key" || lk == "secret" {
			return nil, fmt.Errorf("parse config %s: %w (key %q): put the key in a file only payrun's user can read and set api_key_file", path, ErrKeyInConfig, k)
		}
		s, ok := settingByKey(k)
		if !ok {
			return nil, fmt.Errorf("parse config %s: unknown key %q (known: %s)", path, k, knownKeys())
		}
		v, err := configValue(s, raw[k])
		if err != nil {
			return nil, fmt.Errorf("parse config %s: %s: %w", path, k, err)
		}
		cf.values[s.env] = v
	}
	return cf, nil
}

// configValue checks a decoded TOML value against the setting's kind and
// renders it as the text its environment variable would hold.
func configValue(s setting, v any) (string, error) {
	switch s.kind {
	case "string":
		if x, ok := v.(string); ok {
			return x, nil
		}
	case "int":
		if x, ok := v.(int64); ok && x > 0 {
			return strconv.FormatInt(x, 10), nil
		}
		return "", errors.New("must be a positive whole number")
	case "number":
		switch x := v.(type) {
		case int64:
			if x >= 0 {
				return strconv.FormatInt(x, 10), nil
			}
		case float64:
			if x >= 0 {
				return strconv.FormatFloat(x, 'f', -1, 64), nil
			}
		}
		return "", errors.New("must be a number >= 0")
	case "bool":
		if x, ok := v.(bool); ok {
			return strconv.FormatBool(x), nil
		}
		return "", errors.New("must be true or false")
	case "duration":
		if x, ok := v.(string); ok {
			if _, err := parseSettle(x); err != nil {
				return "", err
			}
			return x, nil
		}
		return "", errors.New(`must be a duration in quotes, e.g. "5s"`)
	}
	return "", fmt.Errorf("must be a %s", s.kind)
}

func settingByKey(k string) (setting, bool) {
	for _, s := range settings {
		if s.key == k {
			return s, true
		}
	}
	return setting{}, false
}

func knownKeys() string {
	ks := make([]string, len(settings))
	for i, s := range settings {
		ks[i] = s.key
	}
	return strings.Join(ks, ", ")
}

// configLayers remembers, per Main, the file installed under its
// environment, so a command run from another (payrun inbox calling payrun
// run) does not stack the same file twice.
var configLayers sync.Map // *Main -> *configFile (nil value: no file)

// useConfig loads the configuration file (--config flagVal, PAYRUN_CONFIG or
// ./payrun.toml) once per Main and installs it under m.Getenv. A file given
// explicitly must exist; ./payrun.toml is optional.
func (m *Main) useConfig(flagVal string) (*configFile, error) {
	if v, ok := configLayers.Load(m); ok {
		cf := v.(*configFile)
		if flagVal == "" || (cf != nil && cf.path == flagVal) {
			return cf, nil
		}
	}
	path, required := findConfig(flagVal, m.Getenv)
	cf, err := loadConfigFile(path, required)
	if err != nil {
		return nil, err
	}
	configLayers.Store(m, cf)
	if cf != nil {
		m.Getenv = cf.under(m.Getenv)
	}
	return cf, nil
}

// under returns a Getenv that answers from env first and from the file
// second. One exception keeps env above file for the key: a MASSPAY_API_KEY
// in the environment outranks an api_key_file from the file.
func (cf *configFile) under(env func(string) string) func(string) string {
	return func(name string) string {
		if v := env(name); v != "" {
			return v
		}
		if name == "MASSPAY_API_KEY_FILE" && env("MASSPAY_API_KEY") != "" {
			return ""
		}
		return cf.values[name]
	}
}

// envBool reads a boolean setting; unset is false.
func (m *Main) envBool(name string) (bool, error) {
	v := strings.TrimSpace(m.Getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &UsageError{Err: fmt.Errorf("%s=%q is not true or false", name, v), Hint: name + "=true"}
	}
	return b, nil
}

// parseSettle parses the inbox settle time: a Go duration such as "5s" or
// "500ms", at least 0.
func parseSettle(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as \"5s\"", s)
	}
	return d, nil
}
