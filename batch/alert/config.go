package alert

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"
)

// Kind is what an alert is about.
type Kind string

// The kinds of alert.
const (
	KindRun      Kind = "run"      // a run ended with rows needing a person or failed
	KindFlip     Kind = "flip"     // MassPay changed a settled payment's status
	KindBalance  Kind = "balance"  // reconcile found a balance difference
	KindKYC      Kind = "kyc"      // a payee's document-upload link
	KindAborted  Kind = "aborted"  // a run under cron or the inbox stopped before its end (exit 3)
	KindFunds    Kind = "funds"    // MassPay answered insufficient funds: a currency stopped
	KindApproval Kind = "approval" // a recorded plan waits for an approver (require_approval)
)

// KYC notice recipients (kyc_notice).
const (
	KYCOff        = "off"
	KYCPayee      = "payee"
	KYCCompliance = "compliance"
	KYCBoth       = "both"
)

// Config is the alert configuration, read from the environment variables
// payrun.toml's keys stand for (see FromEnv).
type Config struct {
	// SMTPURL is smtp://[user@]host[:587] (STARTTLS required) or
	// smtps://[user@]host[:465] (TLS from the start). It never holds the
	// password: that is read from PasswordFile.
	SMTPURL      string
	PasswordFile string
	// CAFile, when set, holds the PEM certificates that sign the SMTP
	// server's certificate (an internal relay with its own CA); else the
	// system's roots.
	CAFile string
	From   string
	// To are the email recipients per kind; To[""] is the default.
	To map[Kind][]string
	// WebhookURL receives a JSON post per alert. Slack's and Teams' URLs
	// carry their token in the path, so it is shown only as scheme and host.
	WebhookURL string
	// KYCNotice says who gets a held payee's upload link: off, payee,
	// compliance or both; ComplianceTo is the compliance mailbox.
	KYCNotice    string
	ComplianceTo []string
	// KYCTemplate and KYCTemplateHTML are files overriding the built-in
	// KYC notice (text: first line "Subject: ..."); CompanyName signs it.
	KYCTemplate     string
	KYCTemplateHTML string
	CompanyName     string
}

// Env names the variables FromEnv reads; payrun.toml's alert keys stand for
// them.
var Env = struct {
	SMTPURL, PasswordFile, CAFile, From, To, ToRun, ToFlip, ToBalance, WebhookURL,
	KYCNotice, ComplianceTo, KYCTemplate, KYCTemplateHTML, CompanyName string
}{
	"PAYRUN_SMTP_URL", "PAYRUN_SMTP_PASSWORD_FILE", "PAYRUN_SMTP_CA_FILE", "PAYRUN_ALERT_FROM", "PAYRUN_ALERT_TO",
	"PAYRUN_ALERT_TO_RUN", "PAYRUN_ALERT_TO_FLIP", "PAYRUN_ALERT_TO_BALANCE", "PAYRUN_ALERT_WEBHOOK_URL",
	"PAYRUN_KYC_NOTICE", "PAYRUN_KYC_COMPLIANCE_TO", "PAYRUN_KYC_TEMPLATE", "PAYRUN_KYC_TEMPLATE_HTML", "PAYRUN_COMPANY_NAME",
}

// FromEnv reads the configuration through getenv and checks it.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		SMTPURL:         strings.TrimSpace(getenv(Env.SMTPURL)),
		PasswordFile:    strings.TrimSpace(getenv(Env.PasswordFile)),
		CAFile:          strings.TrimSpace(getenv(Env.CAFile)),
		From:            strings.TrimSpace(getenv(Env.From)),
		WebhookURL:      strings.TrimSpace(getenv(Env.WebhookURL)),
		KYCNotice:       strings.ToLower(strings.TrimSpace(getenv(Env.KYCNotice))),
		KYCTemplate:     strings.TrimSpace(getenv(Env.KYCTemplate)),
		KYCTemplateHTML: strings.TrimSpace(getenv(Env.KYCTemplateHTML)),
		CompanyName:     strings.TrimSpace(getenv(Env.CompanyName)),
		To:              map[Kind][]string{},
	}
	var err error
	for k, env := range map[Kind]string{"": Env.To, KindRun: Env.ToRun, KindFlip: Env.ToFlip, KindBalance: Env.ToBalance} {
		if c.To[k], err = addressList(env, getenv(env)); err != nil {
			return c, err
		}
	}
	if c.ComplianceTo, err = addressList(Env.ComplianceTo, getenv(Env.ComplianceTo)); err != nil {
		return c, err
	}
	return c, c.Check()
}

// Check refuses a configuration that could not send what it promises.
func (c Config) Check() error {
	if c.SMTPURL != "" {
		t, err := parseSMTPURL(c.SMTPURL)
		if err != nil {
			return err
		}
		if t.user != "" && c.PasswordFile == "" {
			return fmt.Errorf("check alert config: %s names a user: set %s to the file holding its password", Env.SMTPURL, Env.PasswordFile)
		}
		if _, err := mail.ParseAddress(c.From); err != nil {
			return fmt.Errorf("check alert config: %s must be an email address when smtp_url is set", Env.From)
		}
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) || u.Host == "" {
			return fmt.Errorf("check alert config: %s must be an https URL (http only to loopback)", Env.WebhookURL)
		}
	}
	switch c.KYCNotice {
	case "", KYCOff, KYCPayee, KYCCompliance, KYCBoth:
	default:
		return fmt.Errorf("check alert config: %s=%q: want off, payee, compliance or both", Env.KYCNotice, c.KYCNotice)
	}
	if (c.KYCNotice == KYCCompliance || c.KYCNotice == KYCBoth) && len(c.ComplianceTo) == 0 {
		return fmt.Errorf("check alert config: %s=%s needs %s", Env.KYCNotice, c.KYCNotice, Env.ComplianceTo)
	}
	if c.KYCNotice != "" && c.KYCNotice != KYCOff && c.SMTPURL == "" {
		return fmt.Errorf("check alert config: KYC notices are emails: set %s", Env.SMTPURL)
	}
	return nil
}

// Recipients are the email recipients of an alert of kind k: its own list,
// else the default.
func (c Config) Recipients(k Kind) []string {
	if r := c.To[k]; len(r) > 0 {
		return r
	}
	return c.To[""]
}

// Enabled reports whether any channel is configured.
func (c Config) Enabled() bool { return c.SMTPURL != "" || c.WebhookURL != "" }

// KYCTo reports whether KYC notices go to the payee and to compliance.
func (c Config) KYCTo() (payee, compliance bool) {
	return c.KYCNotice == KYCPayee || c.KYCNotice == KYCBoth, c.KYCNotice == KYCCompliance || c.KYCNotice == KYCBoth
}

func addressList(env, v string) ([]string, error) {
	var out []string
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
		a, err := mail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("check alert config: %s: %q is not an email address", env, s)
		}
		out = append(out, a.Address)
	}
	return out, nil
}

// smtpTarget is a parsed smtp_url.
type smtpTarget struct {
	host     string
	port     int
	implicit bool // smtps: TLS from the first byte
	user     string
}

func parseSMTPURL(s string) (smtpTarget, error) {
	u, err := url.Parse(s)
	if err != nil {
		// url's error quotes the URL, which could hold a password.
		return smtpTarget{}, fmt.Errorf("check alert config: %s is not a URL", Env.SMTPURL)
	}
	if _, has := u.User.Password(); has {
		return smtpTarget{}, fmt.Errorf("check alert config: %s must not hold the password: put it in a file and set %s", Env.SMTPURL, Env.PasswordFile)
	}
	t := smtpTarget{host: u.Hostname(), user: u.User.Username()}
	switch u.Scheme {
	case "smtp":
		t.port = 587
	case "smtps":
		t.port, t.implicit = 465, true
	default:
		return t, fmt.Errorf("check alert config: %s must start smtp:// (STARTTLS) or smtps:// (TLS)", Env.SMTPURL)
	}
	if p := u.Port(); p != "" {
		if _, err := fmt.Sscanf(p, "%d", &t.port); err != nil || t.port < 1 || t.port > 65535 {
			return t, fmt.Errorf("check alert config: %s: bad port", Env.SMTPURL)
		}
	}
	if t.host == "" {
		return t, fmt.Errorf("check alert config: %s names no host", Env.SMTPURL)
	}
	return t, nil
}

// ShowSMTPURL is smtp_url as payrun config prints it: without user or any
// password someone put there by mistake.
func ShowSMTPURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not shown: not a URL)"
	}
	return u.Scheme + "://" + u.Host
}

// ShowWebhookURL is alert_webhook_url as payrun config prints it: scheme
// and host, since Slack and Teams put the token in the path.
func ShowWebhookURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not shown: not a URL)"
	}
	return u.Scheme + "://" + u.Host + "/... (path hidden: it holds the token)"
}

func readPassword(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path could be the password itself
		}
		return "", fmt.Errorf("read SMTP password file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// staleClaim is how long a claim left 'sending' by a crash waits before it
// is sent once more: longer than every retry of one send.
const staleClaim = 10 * time.Minute
