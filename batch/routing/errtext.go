package routing

import (
	"errors"
	"strings"

	"github.com/payrun/payrun/masspay"
)

// ErrorText is an error's message for a person; APIError strings never carry
// the API key.
func ErrorText(err error) string {
	var apiErr *masspay.APIError
	if errors.As(err, &apiErr) {
		msg := apiErr.Message
		if apiErr.Reason != "" && !strings.Contains(msg, apiErr.Reason) {
			msg = strings.TrimSpace(msg + " (" + apiErr.Reason + ")")
		}
		if msg == "" {
			msg = apiErr.Title
		}
		var extra []string
		for _, d := range apiErr.Details {
			if !strings.Contains(msg, d) {
				extra = append(extra, d)
			}
		}
		if len(extra) > 0 {
			msg += ": " + strings.Join(extra, "; ")
		}
		return msg
	}
	return err.Error()
}
