package ledger

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// timeFormat is RFC 3339 with a fixed nine-digit fraction, so stored times
// are UTC, parse with time.RFC3339Nano, and also sort correctly as text.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s.String, err)
	}
	return t.UTC(), nil
}

// decString formats d keeping its scale, so "1.50" is stored as "1.50" and
// not "1.5": the ledger hands back the digits it was given.
func decString(d decimal.Decimal) string {
	if d.Exponent() < 0 {
		return d.StringFixed(-d.Exponent())
	}
	return d.String()
}

// Column is one cell of a sheet row: its header as written in the sheet and
// its value as text. It marshals as the JSON pair [header, value].
type Column struct {
	Header string
	Value  string
	// Format is the number format of the sheet's cell when it was a number
	// in an XLSX (an invoice date, a percentage), so the results show it as
	// the sheet did; "" for text, CSV and the columns payrun reads itself.
	Format string
}

// MarshalJSON encodes the column as [header, value], or [header, value,
// format] when it has a format.
func (c Column) MarshalJSON() ([]byte, error) {
	if c.Format != "" {
		return json.Marshal([3]string{c.Header, c.Value, c.Format})
	}
	return json.Marshal([2]string{c.Header, c.Value})
}

// UnmarshalJSON decodes [header, value] or [header, value, format].
func (c *Column) UnmarshalJSON(b []byte) error {
	var p []string
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("decode column: %w", err)
	}
	if len(p) < 2 || len(p) > 3 {
		return fmt.Errorf("decode column: %d strings, want 2 or 3", len(p))
	}
	c.Header, c.Value, c.Format = p[0], p[1], ""
	if len(p) == 3 {
		c.Format = p[2]
	}
	return nil
}

func marshalColumns(cols []Column) (string, error) {
	if cols == nil {
		return "[]", nil
	}
	b, err := json.Marshal(cols)
	if err != nil {
		return "", fmt.Errorf("encode input columns: %w", err)
	}
	return string(b), nil
}

func unmarshalColumns(s string) ([]Column, error) {
	if cols, ok := decodeColumnsFast(s); ok {
		return cols, nil
	}
	var cols []Column
	if err := json.Unmarshal([]byte(s), &cols); err != nil {
		return nil, fmt.Errorf("decode input columns: %w", err)
	}
	return cols, nil
}

// decodeColumnsFast decodes the input columns as marshalColumns writes them,
// [["header","value"],...], when no string holds an escape; ok is false for
// anything else, which encoding/json then decodes. Reading a million rows
// back for their results spent a third of its time in encoding/json here.
// The strings share s's memory.
func decodeColumnsFast(s string) (cols []Column, ok bool) {
	if len(s) < 2 || s[0] != '[' {
		return nil, false
	}
	if s == "[]" {
		return []Column{}, true
	}
	// Count the pairs first so the slice is allocated once.
	n := strings.Count(s, "],[") + 1
	cols = make([]Column, 0, n)
	i := 1
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		j := i + 1
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' || s[j] < 0x20 {
				return "", false
			}
			j++
		}
		if j >= len(s) {
			return "", false
		}
		v := s[i+1 : j]
		i = j + 1
		return v, true
	}
	for {
		if i >= len(s) || s[i] != '[' {
			return nil, false
		}
		i++
		h, ok := str()
		if !ok || i >= len(s) || s[i] != ',' {
			return nil, false
		}
		i++
		v, ok := str()
		if !ok || i+1 >= len(s) || s[i] != ']' {
			return nil, false
		}
		cols = append(cols, Column{Header: h, Value: v})
		i++
		switch s[i] {
		case ',':
			i++
		case ']':
			if i != len(s)-1 || !utf8.ValidString(s) {
				return nil, false
			}
			return cols, true
		default:
			return nil, false
		}
	}
}

// Balances maps a currency code to an amount, e.g. the source balances read
// before and after a run.
type Balances map[string]decimal.Decimal

// marshalBalances stores balances as a JSON object of decimal strings, so the
// text never depends on decimal.MarshalJSONWithoutQuotes.
func marshalBalances(b Balances) (any, error) {
	if b == nil {
		return nil, nil
	}
	m := make(map[string]string, len(b))
	for k, v := range b {
		m[k] = decString(v)
	}
	j, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode balances: %w", err)
	}
	return string(j), nil
}

func unmarshalBalances(s sql.NullString) (Balances, error) {
	if !s.Valid {
		return nil, nil
	}
	var m map[string]decimal.Decimal
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("decode balances: %w", err)
	}
	return Balances(m), nil
}

// notFound turns sql.ErrNoRows into ErrNotFound wrapped with what.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
