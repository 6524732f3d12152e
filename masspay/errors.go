package masspay

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Sentinels the runner branches on with errors.Is. *APIError, *PayoutError
// and *RetryError match them through their Is and Unwrap methods.
var (
	// ErrUnauthorized matches a 401: a missing or wrong API key. Never retried.
	ErrUnauthorized = errors.New("masspay: unauthorized")
	// ErrNotFound matches a 404, e.g. LookupUser finding nobody.
	ErrNotFound = errors.New("masspay: not found")
	// ErrRateLimited matches a 429 that outlived the client's retries.
	ErrRateLimited = errors.New("masspay: rate limited")
	// ErrKYCHold matches a compliance hold; KYCUploadURL(err) returns the
	// payee's document-upload link.
	ErrKYCHold = errors.New("masspay: compliance hold")
	// ErrInsufficientFunds matches the NSF payout token, the nsf commit
	// status and a load refused with code NSF.
	ErrInsufficientFunds = errors.New("masspay: insufficient funds")
	// ErrDuplicate matches the DUPLICATE payout token and answers whose code
	// starts with DUPLICATE or whose reason is "duplicate" (a load or user
	// that already exists): the thing was already done, adopt it. A bare 409
	// does not match: an Idempotency-Key still in use is a 409 too.
	ErrDuplicate = errors.New("masspay: duplicate")
	// ErrQuoteExpired matches the ex_rate_expired commit status: initiate a
	// fresh payout under a new Idempotency-Key.
	ErrQuoteExpired = errors.New("masspay: quote expired")
	// ErrAdditionalAttributes matches the addtl_attr_req commit status: store
	// the missing attributes, then start a new payout.
	ErrAdditionalAttributes = errors.New("masspay: additional attributes required")
	// ErrCommitFailed matches the failure commit status: a definite refusal,
	// nothing was paid.
	ErrCommitFailed = errors.New("masspay: commit failed")
	// ErrUnclearAnswer matches a 200 answer that does not say what happened:
	// a commit with an empty body or a status this client does not know, an
	// initiate without a payout_token, a load without a load_token or with an
	// unknown status. The outcome is unknown (the commit may
	// have gone through): ask MassPay for the payout before doing anything
	// else, never treat it as a refusal.
	ErrUnclearAnswer = errors.New("masspay: answer does not say what happened")
	// ErrIdempotencyKeyInUse matches a 409 saying a request with the same
	// Idempotency-Key is still being processed. It is retryable (the same key
	// is re-sent) and its outcome is unknown until then.
	ErrIdempotencyKeyInUse = errors.New("masspay: idempotency key in use")
	// ErrIdempotencyKeyReused matches an answer refusing a key that was sent
	// before with a different request: a bug in key derivation, never retried.
	ErrIdempotencyKeyReused = errors.New("masspay: idempotency key reused with a different request")
	// ErrRetriesExhausted matches a *RetryError whose retry budget ran out.
	ErrRetriesExhausted = errors.New("masspay: retries exhausted")
	// ErrIdempotencyKeyRequired is returned, before any I/O, by InitiatePayout,
	// CommitPayout and Load called with an empty key.
	ErrIdempotencyKeyRequired = errors.New("masspay: idempotency key required")
	// ErrInvalidRequest is returned, before any I/O, for arguments the API
	// would refuse anyway (an empty token, both payout amounts set...).
	ErrInvalidRequest = errors.New("masspay: invalid request")
)

// temporary is implemented by the client's error types: retryability is
// declared where the error is made, not re-derived by callers.
type temporary interface{ Temporary() bool }

// unknownOutcome is implemented by the client's error types that can tell
// whether the request may have taken effect.
type unknownOutcome interface{ UnknownOutcome() bool }

// IsRetryable reports whether err is worth sending again later, with the
// same Idempotency-Key: timeouts, connection errors, 429 and 5xx. A
// definite answer (4xx, a commit status, a DUPLICATE token) is not.
func IsRetryable(err error) bool {
	var t temporary
	return errors.As(err, &t) && t.Temporary()
}

// IsUnknownOutcome reports whether the request may have reached MassPay
// without this client learning what happened: a transport error after the
// connection was made, a timeout, or a 5xx. The runner must then re-send
// the same request with the same Idempotency-Key, or ask for the status,
// before doing anything else.
func IsUnknownOutcome(err error) bool {
	var u unknownOutcome
	return errors.As(err, &u) && u.UnknownOutcome()
}

// KYCUploadURL returns the document-upload link of a compliance-hold error,
// or "" when err is not one.
func KYCUploadURL(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.KYCUploadURL
	}
	return ""
}

// APIError is a non-2xx answer from MassPay, decoded from whichever of the
// API's error shapes it came in. Its strings have the API key redacted.
type APIError struct {
	StatusCode int
	Title      string
	Message    string
	// Code is the body's "code", as a string even when MassPay sent a
	// number: the SDK's Error models make it the HTTP status (403); older
	// answers carry a name (KYC_HOLD, NSF, DUPLICATE, ...).
	Code string
	// Reason is error.reason (e.g. kyc_hold, load_refused, duplicate).
	Reason  string
	Details []string
	// KYCUploadURL is the payee's document-upload link on a compliance hold.
	KYCUploadURL string
	// RequestID is MassPay's request id header, if it sent one.
	RequestID string
	// Body is the raw answer, for the ledger's audit trail.
	Body []byte
	// Method and Path are the request's, without the query string (which can
	// carry e-mail addresses).
	Method, Path string
}

// Error describes the answer in one line.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "masspay: %s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	// A code that only repeats the status (the SDK's numeric codes) says
	// nothing new.
	if e.Code != "" && e.Code != strconv.Itoa(e.StatusCode) {
		b.WriteString(" [" + e.Code + "]")
	}
	var parts []string
	for _, s := range []string{e.Title, e.Message} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if e.Reason != "" {
		parts = append(parts, "reason "+e.Reason)
	}
	if len(e.Details) > 0 && !strings.Contains(e.Message, e.Details[0]) {
		parts = append(parts, strings.Join(e.Details, "; "))
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ": "))
	}
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	return b.String()
}

// Temporary reports whether MassPay may answer differently if asked again
// with the same Idempotency-Key: 429, the 5xx gateway family, and a key
// still in use by a request in flight.
func (e *APIError) Temporary() bool { return retryableStatus(e.StatusCode) || e.keyInUse() }

// UnknownOutcome reports whether the request may have taken effect: a 5xx
// (500, 502, 503, 504) leaves the outcome unknown per the contract, and so
// does a key still in use (the first request has not finished).
func (e *APIError) UnknownOutcome() bool { return e.StatusCode >= 500 || e.keyInUse() }

func (e *APIError) keyInUse() bool {
	return e.StatusCode == http.StatusConflict &&
		(strings.EqualFold(e.Code, "IDEMPOTENCY_KEY_IN_USE") || strings.EqualFold(e.Reason, "idempotency_key_in_use"))
}

// Is lets errors.Is match the sentinels this answer stands for.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrKYCHold:
		return e.KYCUploadURL != "" || isKYCCode(e.Code, e.Reason)
	case ErrInsufficientFunds:
		return strings.EqualFold(e.Code, "NSF") || strings.EqualFold(e.Reason, "nsf") || strings.EqualFold(e.Reason, "insufficient_funds")
	case ErrDuplicate:
		return strings.HasPrefix(strings.ToUpper(e.Code), "DUPLICATE") || strings.EqualFold(e.Reason, "duplicate")
	case ErrIdempotencyKeyInUse:
		return e.keyInUse()
	case ErrIdempotencyKeyReused:
		return strings.EqualFold(e.Code, "IDEMPOTENCY_KEY_REUSED") || strings.EqualFold(e.Reason, "idempotency_key_reused")
	case ErrQuoteExpired:
		return strings.EqualFold(e.Code, CommitExRateExpired) || strings.EqualFold(e.Reason, CommitExRateExpired)
	case ErrAdditionalAttributes:
		return strings.EqualFold(e.Code, CommitAddtlAttrReq) || strings.EqualFold(e.Reason, CommitAddtlAttrReq)
	}
	return false
}

func isKYCCode(code, reason string) bool {
	return strings.EqualFold(code, "KYC_HOLD") || strings.EqualFold(reason, "kyc_hold")
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// TransportError is a request that got no HTTP answer: a refused
// connection, a reset, a timeout, a cancelled context.
type TransportError struct {
	Method, Path string
	// Sent is false only when the connection was never made, so no byte of
	// the request can have reached MassPay.
	Sent bool
	// Timeout is true when the attempt's own time limit ran out.
	Timeout bool
	// Err is the underlying error; errors.Is(err, context.DeadlineExceeded)
	// and friends see through it.
	Err error

	msg string // Err's text with the API key redacted
}

// Error describes the failure without the API key.
func (e *TransportError) Error() string {
	what := "request failed"
	if e.Timeout {
		what = "request timed out"
	} else if !e.Sent {
		what = "connection failed"
	}
	return fmt.Sprintf("masspay: %s %s: %s: %s", e.Method, e.Path, what, e.msg)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// Temporary is always true: a transport failure may go away, and the same
// Idempotency-Key makes a re-send safe.
func (e *TransportError) Temporary() bool { return true }

// UnknownOutcome reports whether the request may have reached MassPay.
func (e *TransportError) UnknownOutcome() bool { return e.Sent }

// RetryError is returned when the client stopped retrying a retryable
// failure: the retry budget ran out, a Retry-After was too long, or the
// context (or its deadline) ended first. It matches ErrRetriesExhausted or
// the context error, and everything the last attempt's error matches.
type RetryError struct {
	// Attempts is how many times the request was sent.
	Attempts int
	// Reason is why retrying stopped.
	Reason string
	// Err is the last attempt's error (*APIError or *TransportError).
	Err error
	// Ctx is the context's error when the context stopped the retries.
	Ctx error

	exhausted bool // the budget (or a too-long Retry-After) stopped it
	unknown   bool // some attempt may have reached MassPay unanswered
}

// Error names the last failure and why retrying stopped.
func (e *RetryError) Error() string {
	return fmt.Sprintf("%v (gave up after %d attempts: %s)", e.Err, e.Attempts, e.Reason)
}

// Unwrap exposes the last error, and ErrRetriesExhausted or the context error.
func (e *RetryError) Unwrap() []error {
	errs := []error{e.Err}
	if e.Ctx != nil {
		errs = append(errs, e.Ctx)
	}
	if e.exhausted {
		errs = append(errs, ErrRetriesExhausted)
	}
	return errs
}

// Temporary is the last attempt's: a later call with the same key may succeed.
func (e *RetryError) Temporary() bool { return IsRetryable(e.Err) }

// UnknownOutcome reports whether any attempt, not only the last, may have
// reached MassPay without an answer.
func (e *RetryError) UnknownOutcome() bool { return e.unknown || IsUnknownOutcome(e.Err) }

// PayoutError is a refusal MassPay sends inside a 200 answer: the NSF or
// DUPLICATE payout token of an initiate, or a commit status other than
// success; or a 200 answer to an initiate, commit or load that says nothing
// (Kind ErrUnclearAnswer). The method that returns it returns the decoded answer too.
type PayoutError struct {
	// Op is "initiate", "commit" or "load".
	Op string
	// UserToken and PayoutToken identify the payout (PayoutToken is the
	// literal NSF or DUPLICATE for an initiate refusal).
	UserToken, PayoutToken string
	// ClientTransferID is the request's, for initiate refusals.
	ClientTransferID string
	// Status is the payout token literal or the commit status.
	Status string
	// Errors are the commit answer's errors, if any.
	Errors []string
	// Kind is the sentinel this refusal matches.
	Kind error
}

// Error describes the refusal.
func (e *PayoutError) Error() string {
	if e.Kind == ErrUnclearAnswer {
		return fmt.Sprintf("masspay: %s for user %s: the answer does not say what happened (token %q, status %q)",
			e.Op, e.UserToken, e.PayoutToken, e.Status)
	}
	s := fmt.Sprintf("masspay: %s payout %s for user %s: %s", e.Op, e.PayoutToken, e.UserToken, e.Status)
	if len(e.Errors) > 0 {
		s += ": " + strings.Join(e.Errors, "; ")
	}
	return s
}

// Is matches e.Kind.
func (e *PayoutError) Is(target error) bool { return target == e.Kind }

// Temporary is false: the answer is definite. Asking again with the same key
// replays it.
func (e *PayoutError) Temporary() bool { return false }

// UnknownOutcome is false when MassPay said what happened, true for an
// answer this client cannot read as an outcome (ErrUnclearAnswer).
func (e *PayoutError) UnknownOutcome() bool { return e.Kind == ErrUnclearAnswer }
