package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/shopspring/decimal"
)

// apiError is a non-2xx answer in MassPay's {title, message, code, error}
// shape. Handlers return it; the dispatcher writes it.
type apiError struct {
	Status  int
	Title   string
	Message string
	// Code is the sandbox's machine name of the refusal (KYC_HOLD, NSF,
	// DUPLICATE, ...). The SDK's Error models make the body's "code" the
	// HTTP status as a number, so Code travels as error.reason (lower case)
	// when Reason is empty.
	Code    string
	Reason  string
	Details []string
	// Allow is the Allow header of a 405.
	Allow string
}

func (e *apiError) Error() string { return e.Message }

// errorBody is the JSON of an apiError: the fields of the SDK's
// Error400..Error504 models (code is a number), plus error.reason and
// error.details, which Error400 declares and payrun's client reads on every
// status to tell a KYC hold, a duplicate or a shortfall apart.
type errorBody struct {
	Title   string       `json:"title"`
	Message string       `json:"message"`
	Code    int          `json:"code"`
	Error   *errorDetail `json:"error,omitempty"`
}

type errorDetail struct {
	Reason  string   `json:"reason"`
	Details []string `json:"details"`
}

func (e *apiError) body() errorBody {
	b := errorBody{Title: e.Title, Message: e.Message, Code: e.Status}
	reason := e.Reason
	if reason == "" {
		reason = strings.ToLower(e.Code)
	}
	if reason != "" || len(e.Details) > 0 {
		d := e.Details
		if d == nil {
			d = []string{}
		}
		b.Error = &errorDetail{Reason: reason, Details: d}
	}
	return b
}

// badField is a 400 naming the offending field.
func badField(field, reason, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Title: "Bad Request", Message: fmt.Sprintf(format, args...),
		Code: "VALIDATION_ERROR", Reason: reason, Details: []string{field}}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusNotFound, Title: "Not Found", Message: fmt.Sprintf(format, args...), Code: "NOT_FOUND"}
}

// internalError is the answer to a value that cannot be encoded.
const internalError = `{"title":"Internal Server Error","message":"encode answer","code":500,"error":{"reason":"internal","details":[]}}`

// writeJSON writes v as JSON with status. Every JSON answer carries
// Content-Type application/json: the official SDKs parse nothing else.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(internalError)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.Allow != "" {
		w.Header().Set("Allow", e.Allow)
	}
	writeJSON(w, e.Status, e.body())
}

// maxAmount bounds every amount the sandbox accepts, so arithmetic on a
// hostile number (1e999999) cannot eat the machine.
var maxAmount = decimal.New(1, 15)

// checkAmount validates an amount field: positive, at most 1e15, at most 18
// decimal places.
func checkAmount(field string, d decimal.Decimal) *apiError {
	if d.Exponent() < -18 || d.Abs().GreaterThan(maxAmount) {
		return badField(field, "invalid_amount", "%s is out of range", field)
	}
	if !d.IsPositive() {
		return badField(field, "invalid_amount", "%s must be greater than 0", field)
	}
	return nil
}

// decodeBody decodes a JSON object body into dst. On failure the 400 names
// the field that could not be decoded, found by decoding each top-level key
// on its own.
func decodeBody(body []byte, dst any) *apiError {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return badField("body", "invalid_json", "request body is required")
	}
	if trimmed[0] != '{' {
		return badField("body", "invalid_json", "request body must be a JSON object")
	}
	err := json.Unmarshal(trimmed, dst)
	if err == nil {
		return nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return badField("body", "invalid_json", "request body is not valid JSON: %v", err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return badField(te.Field, "invalid_type", "%s has the wrong type: expected %s", te.Field, te.Type)
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(trimmed, &raw) == nil {
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		typ := reflect.TypeOf(dst).Elem()
		for _, k := range keys {
			one, _ := json.Marshal(map[string]json.RawMessage{k: raw[k]})
			if json.Unmarshal(one, reflect.New(typ).Interface()) != nil {
				return badField(k, "invalid_type", "%s is invalid", k)
			}
		}
	}
	return badField("body", "invalid_json", "request body is invalid: %v", err)
}

// required returns a 400 for the first empty field of pairs (name, value).
func required(pairs ...string) *apiError {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return badField(pairs[i], "required", "%s is required", pairs[i])
		}
	}
	return nil
}

// maxLen returns a 400 when value is longer than n.
func maxLen(field, value string, n int) *apiError {
	if len(value) > n {
		return badField(field, "too_long", "%s must be at most %d characters", field, n)
	}
	return nil
}
