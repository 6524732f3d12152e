package masspay

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// requestIDHeaders are the headers MassPay or a gateway in front of it may
// carry a request id in, in order of preference.
var requestIDHeaders = []string{"X-Request-Id", "Request-Id", "X-Correlation-Id", "X-Amzn-Requestid"}

// newAPIError decodes a non-2xx answer. MassPay uses several body shapes
// ({title, message, code, error:{reason, details}}, {Exception, Errors[]},
// {code, message, details, timestamp}); whatever does not fit is still kept
// in Body. redact removes the API key from every string the error carries.
func newAPIError(method, path string, status int, h http.Header, body []byte, redact func(string) string) *APIError {
	e := &APIError{StatusCode: status, Method: method, Path: path, Body: []byte(redact(string(body)))}
	for _, k := range requestIDHeaders {
		if v := h.Get(k); v != "" {
			e.RequestID = redact(v)
			break
		}
	}
	var generic any
	if err := json.Unmarshal(body, &generic); err != nil {
		// Not JSON (a proxy's HTML page, say): keep a short text message.
		e.Message = redact(strings.TrimSpace(truncate(string(body), 200)))
		e.KYCUploadURL = kycLink(e, nil, body)
		return e
	}
	obj, _ := generic.(map[string]any)
	if obj != nil {
		e.Title = str(field(obj, "title"))
		e.Message = str(field(obj, "message"))
		if e.Message == "" {
			e.Message = str(field(obj, "Exception"))
		}
		e.Code = str(field(obj, "code"))
		if inner, ok := field(obj, "error").(map[string]any); ok {
			e.Reason = str(field(inner, "reason"))
			e.Details = append(e.Details, strs(field(inner, "details"))...)
			if e.Message == "" {
				e.Message = str(field(inner, "message"))
			}
		} else if s, ok := field(obj, "error").(string); ok && e.Message == "" {
			e.Message = s
		}
		e.Details = append(e.Details, strs(field(obj, "details"))...)
		e.Details = append(e.Details, strs(field(obj, "Errors"))...)
	}
	e.Title, e.Message, e.Code, e.Reason = redact(e.Title), redact(e.Message), redact(e.Code), redact(e.Reason)
	for i := range e.Details {
		e.Details[i] = redact(e.Details[i])
	}
	e.KYCUploadURL = redact(kycLink(e, generic, body))
	return e
}

// field returns obj[name], falling back to a case-insensitive match because
// MassPay mixes "Errors" and "errors", "Exception" and "exception".
func field(obj map[string]any, name string) any {
	if v, ok := obj[name]; ok {
		return v
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// str renders a scalar JSON value as a string (codes come as numbers too).
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// strs renders a string, a list or an object as a list of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, 0, len(x))
		for _, it := range x {
			if s := str(it); s != "" {
				out = append(out, s)
			}
		}
		return out
	default:
		if s := str(x); s != "" {
			return []string{s}
		}
	}
	return nil
}

var httpsURL = regexp.MustCompile(`https://[^\s"'<>\\]+`)

// firstURL returns the first https URL in s, without trailing punctuation
// that belongs to the sentence around it.
func firstURL(s string) string {
	u := httpsURL.FindString(s)
	return strings.TrimRight(u, ".,;:!?)]}")
}

// kycLink returns the document-upload link of a compliance hold, or "" when
// the answer is not one. MassPay has put the link in the message, in
// error.details and in dedicated fields, so every string is searched: named
// fields first, then every other string of the body in key order.
func kycLink(e *APIError, generic any, raw []byte) string {
	var link string
	if obj, ok := generic.(map[string]any); ok {
		for _, k := range []string{"kyc_upload_url", "document_upload_url", "upload_url", "kyc_link"} {
			if link = firstURL(str(field(obj, k))); link != "" {
				return link // a field named for the link is a hold on its own
			}
		}
	}
	for _, s := range append([]string{e.Message}, e.Details...) {
		if link = firstURL(s); link != "" {
			break
		}
	}
	if link == "" {
		if generic != nil {
			link = walkURL(generic)
		} else {
			link = firstURL(string(raw))
		}
	}
	// A link alone does not make a hold (a 400 may point at API docs); a
	// KYC code or a 403 does.
	if link != "" && (isKYCCode(e.Code, e.Reason) || e.StatusCode == http.StatusForbidden) {
		return link
	}
	return ""
}

// walkURL returns the first https URL in any string of v, visiting object
// keys in sorted order so the answer is deterministic.
func walkURL(v any) string {
	switch x := v.(type) {
	case string:
		return firstURL(x)
	case []any:
		for _, it := range x {
			if u := walkURL(it); u != "" {
				return u
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if u := walkURL(x[k]); u != "" {
				return u
			}
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// redactor returns a function that replaces key in any string. Keys shorter
// than minRedactLen are left alone: they cannot be told apart from ordinary
// text, and no real MassPay key is that short.
func redactor(key string) func(string) string {
	if len(key) < minRedactLen {
		return func(s string) string { return s }
	}
	return func(s string) string {
		if !strings.Contains(s, key) {
			return s
		}
		return strings.ReplaceAll(s, key, redacted)
	}
}

const (
	minRedactLen = 6
	redacted     = "[REDACTED]"
)
