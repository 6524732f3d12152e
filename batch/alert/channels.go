package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one alert, ready for any channel.
type Message struct {
	// Key identifies what is alerted; the same key is sent once per channel.
	Key              string
	Kind             Kind
	ClientTransferID string // the row it is about, "" for none
	Subject          string
	Text             string
	HTML             string // optional HTML part of the email
	// Fields are the structured facts, in order, for the webhook's JSON.
	Fields []Field
	// To overrides the kind's email recipients (KYC notices).
	To []string
	// EmailOnly keeps the message off the webhook: a payee's upload link is
	// for the payee, not for a team chat.
	EmailOnly bool
}

// Field is one named fact of an alert.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Email sends alerts over SMTP. The password is read from its file at each
// send and never leaves this type: errors name the server by host only.
type Email struct {
	target   smtpTarget
	from     string
	passFile string
	// TLSConfig, when set, replaces the system's roots (tests with a
	// self-signed server certificate).
	TLSConfig *tls.Config
	// Timeout bounds one connection; default 30s.
	Timeout time.Duration
}

// NewEmail returns the email channel of c, or nil when smtp_url is unset.
func NewEmail(c Config) (*Email, error) {
	if c.SMTPURL == "" {
		return nil, nil
	}
	t, err := parseSMTPURL(c.SMTPURL)
	if err != nil {
		return nil, err
	}
	e := &Email{target: t, from: c.From, passFile: c.PasswordFile}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read SMTP CA file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read SMTP CA file %s: no PEM certificate in it", c.CAFile)
		}
		e.TLSConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return e, nil
}

// Send delivers msg to rcpts in one SMTP transaction.
func (e *Email) Send(ctx context.Context, msg Message, rcpts []string) error {
	m := gomail.NewMsg()
	if err := m.From(e.from); err != nil {
		return fmt.Errorf("send email: from: %w", err)
	}
	if err := m.To(rcpts...); err != nil {
		return fmt.Errorf("send email: to: %w", err)
	}
	m.Subject(msg.Subject)
	m.SetMessageID()
	m.SetDate()
	m.SetGenHeader("X-Payrun-Alert", string(msg.Kind))
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []gomail.Option{gomail.WithPort(e.target.port), gomail.WithTimeout(timeout)}
	tc := &tls.Config{ServerName: e.target.host, MinVersion: tls.VersionTLS12}
	if e.TLSConfig != nil {
		tc = e.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = e.target.host
		}
	}
	opts = append(opts, gomail.WithTLSConfig(tc))
	if e.target.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if e.target.user != "" {
		pass, err := readPassword(e.passFile)
		if err != nil {
			return err
		}
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(e.target.user), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(e.target.host, opts...)
	if err != nil {
		return fmt.Errorf("send email via %s: %w", e.target.host, err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("send email via %s:%d: %w", e.target.host, e.target.port, err)
	}
	return nil
}

// Webhook posts alerts as JSON that Slack's and Teams' incoming webhooks
// accept: a text field, plus the alert's kind, key, title and fields.
type Webhook struct {
	url    string
	Client *http.Client
}

// NewWebhook returns the webhook channel of c, or nil when unset.
func NewWebhook(c Config) *Webhook {
	if c.WebhookURL == "" {
		return nil
	}
	return &Webhook{url: c.WebhookURL, Client: &http.Client{Timeout: 20 * time.Second}}
}

// webhookBody is the JSON posted.
type webhookBody struct {
	Text   string  `json:"text"`
	Kind   Kind    `json:"kind"`
	Key    string  `json:"key"`
	Title  string  `json:"title"`
	Fields []Field `json:"fields,omitempty"`
}

// Send posts msg; any answer but 2xx is an error.
func (w *Webhook) Send(ctx context.Context, msg Message) error {
	b, err := json.Marshal(webhookBody{Text: "*" + msg.Subject + "*\n" + msg.Text, Kind: msg.Kind, Key: msg.Key, Title: msg.Subject, Fields: msg.Fields})
	if err != nil {
		return fmt.Errorf("post alert webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("post alert webhook: bad URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.Client.Do(req)
	if err != nil {
		// url.Error quotes the URL, whose path is the webhook's token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post alert webhook to %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post alert webhook to %s: HTTP %d %s", req.URL.Host, resp.StatusCode, strings.TrimSpace(string(snippet)))
	}
	return nil
}
