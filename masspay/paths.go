package masspay

import (
	"fmt"
	"net/url"
	"strings"
)

// pathOf joins escaped path segments under the base URL. Every variable
// segment must be non-empty: an empty token would silently turn
// /user/{user_token} into /user, a different endpoint.
func pathOf(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(p)
	}
	return b.String()
}

// tok escapes one variable path segment, or records that it is missing.
type tokens struct{ err error }

func (t *tokens) seg(name, v string) string {
	if strings.TrimSpace(v) == "" && t.err == nil {
		t.err = fmt.Errorf("masspay: %s missing: %w", name, ErrInvalidRequest)
	}
	return url.PathEscape(v)
}

// requireKey refuses an empty Idempotency-Key before any I/O, for the calls
// that move money.
func requireKey(op, key string) error {
	if strings.TrimSpace(key) == "" {
		return fmt.Errorf("masspay: %s: %w", op, ErrIdempotencyKeyRequired)
	}
	return nil
}
