package routing

import (
	"errors"
	"net/http"
	"strings"

	"github.com/payrun/payrun/masspay"
)

// ErrorText is an error's message for a person; APIError strings never carry
// the API key. MassPay's message comes first; the details it names are
// kept as words a finance user reads: a detail that is a sentence follows
// the message, one that is a field name becomes "about the amount", and the
// machine reason ends it as "(MassPay code load_refused)". No final period:
// callers put the text inside their own sentence (refusal).
func ErrorText(err error) string {
	var apiErr *masspay.APIError
	if !errors.As(err, &apiErr) {
		return err.Error()
	}
	msg := strings.TrimSpace(apiErr.Message)
	if msg == "" {
		msg = strings.TrimSpace(apiErr.Title)
	}
	if msg == "" {
		msg = http.StatusText(apiErr.StatusCode)
	}
	msg = strings.TrimRight(msg, ". ")
	var notes, fields []string
	for _, d := range apiErr.Details {
		d = strings.TrimRight(strings.TrimSpace(d), ". ")
		switch {
		case d == "" || strings.Contains(msg, d):
		case strings.ContainsAny(d, " \t"):
			notes = append(notes, d)
		default:
			fields = append(fields, strings.ReplaceAll(d, "_", " "))
		}
	}
	if len(notes) > 0 {
		msg += ": " + strings.Join(notes, "; ")
	}
	if len(fields) > 0 {
		msg += ", about the " + strings.Join(fields, " and the ")
	}
	if apiErr.Reason != "" && !strings.Contains(msg, apiErr.Reason) {
		msg += " (MassPay code " + apiErr.Reason + ")"
	}
	return msg
}
