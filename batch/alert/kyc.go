package alert

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"os"
	"strings"
	texttemplate "text/template"

	"github.com/payrun/payrun/ledger"
)

//go:embed templates/kyc.txt templates/kyc.html
var builtinTemplates embed.FS

// KYCData is what a KYC notice template may use.
type KYCData struct {
	CompanyName      string
	FirstName        string
	LastName         string
	Email            string
	Amount           string
	Currency         string
	ClientTransferID string
	Link             string
	Reason           string
}

// KYCTemplate renders KYC notices: a text template whose first line is
// "Subject: ...", and an HTML body.
type KYCTemplate struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// LoadKYCTemplate reads the configured templates, else the built-in ones.
func LoadKYCTemplate(c Config) (*KYCTemplate, error) {
	read := func(file, builtin string) (string, error) {
		if file == "" {
			b, err := builtinTemplates.ReadFile(builtin)
			return string(b), err
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read KYC template: %w", err)
		}
		return string(b), nil
	}
	txt, err := read(c.KYCTemplate, "templates/kyc.txt")
	if err != nil {
		return nil, err
	}
	first, body, _ := strings.Cut(txt, "\n")
	subj, ok := strings.CutPrefix(strings.TrimSpace(first), "Subject:")
	if !ok {
		return nil, fmt.Errorf("read KYC template: its first line must be \"Subject: ...\"")
	}
	t := &KYCTemplate{}
	if t.subject, err = texttemplate.New("subject").Option("missingkey=error").Parse(strings.TrimSpace(subj)); err != nil {
		return nil, fmt.Errorf("parse KYC template subject: %w", err)
	}
	if t.text, err = texttemplate.New("text").Option("missingkey=error").Parse(strings.TrimLeft(body, "\r\n")); err != nil {
		return nil, fmt.Errorf("parse KYC template: %w", err)
	}
	h, err := read(c.KYCTemplateHTML, "templates/kyc.html")
	if err != nil {
		return nil, err
	}
	if t.html, err = htmltemplate.New("html").Parse(h); err != nil {
		return nil, fmt.Errorf("parse KYC HTML template: %w", err)
	}
	return t, nil
}

// Render fills the template for one payee.
func (t *KYCTemplate) Render(d KYCData) (subject, text, html string, err error) {
	var s, b, h bytes.Buffer
	if err := t.subject.Execute(&s, d); err != nil {
		return "", "", "", fmt.Errorf("render KYC notice subject: %w", err)
	}
	if err := t.text.Execute(&b, d); err != nil {
		return "", "", "", fmt.Errorf("render KYC notice: %w", err)
	}
	if err := t.html.Execute(&h, d); err != nil {
		return "", "", "", fmt.Errorf("render KYC notice HTML: %w", err)
	}
	return strings.TrimSpace(s.String()), b.String(), h.String(), nil
}

// KYCNotices sends each held row of run runID its upload link: to the
// payee's email from the sheet and/or the compliance mailbox, as configured,
// once per payee and hold (the link identifies the hold).
func (n *Notifier) KYCNotices(ctx context.Context, runID int64) Result {
	var res Result
	if n == nil || n.Email == nil {
		return res
	}
	toPayee, toCompliance := n.Config.KYCTo()
	if !toPayee && !toCompliance {
		return res
	}
	tpl, err := LoadKYCTemplate(n.Config)
	if err != nil {
		n.Log.Error().Err(err).Msg("KYC notices not sent")
		return Result{Failed: 1, Errs: []string{err.Error()}}
	}
	company := n.Config.CompanyName
	if company == "" {
		company = "We"
	}
	for r, err := range n.Ledger.Rows(ctx, ledger.RowFilter{RunID: runID, States: []ledger.State{ledger.StateNeedsAction}}) {
		if err != nil {
			n.Log.Error().Err(err).Msg("read held rows")
			res.Failed++
			break
		}
		if r.KYCUploadLink == "" {
			continue
		}
		d := KYCData{CompanyName: company, FirstName: column(r, "firstname"), LastName: column(r, "lastname"), Email: column(r, "email"),
			Amount: money(r.Amount, r.SourceCurrency), Currency: r.SourceCurrency, ClientTransferID: r.ID, Link: r.KYCUploadLink, Reason: reason(r)}
		subj, text, html, err := tpl.Render(d)
		if err != nil {
			n.Log.Error().Err(err).Msg("KYC notice not sent")
			res.Failed++
			continue
		}
		hold := sha256.Sum256([]byte(r.KYCUploadLink))
		payee := r.InternalUserID
		if payee == "" {
			payee = r.ID
		}
		base := Message{Kind: KindKYC, ClientTransferID: r.ID, Subject: subj, Text: text, HTML: html, EmailOnly: true,
			Fields: []Field{{"client_transfer_id", r.ID}, {"payee", payee}}}
		if toPayee {
			if a, err := mail.ParseAddress(d.Email); err == nil {
				m := base
				m.Key, m.To = "kyc:payee:"+payee+":"+hex.EncodeToString(hold[:8]), []string{a.Address}
				res.add(n.Send(ctx, m))
			} else {
				n.Log.Warn().Str("client_transfer_id", r.ID).Msg("KYC notice: the sheet has no usable email for this payee")
			}
		}
		if toCompliance {
			m := base
			m.Key, m.To = "kyc:compliance:"+payee+":"+hex.EncodeToString(hold[:8]), n.Config.ComplianceTo
			m.Subject = fmt.Sprintf("payrun: KYC hold for %s %s (%s): %s", d.FirstName, d.LastName, r.ID, subj)
			res.add(n.Send(ctx, m))
		}
	}
	return res
}
