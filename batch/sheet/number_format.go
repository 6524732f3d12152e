package sheet

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// IsDateFormat reports whether a number format shows a date or a time: it
// has a date or time letter outside quotes, brackets and escapes ([h] and
// the like count; [Red] and [$-409] do not).
func IsDateFormat(code string) bool {
	inQuote := false
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case inQuote:
			inQuote = c != '"'
		case c == '"':
			inQuote = true
		case c == '\\' || c == '_' || c == '*':
			i++
		case c == '[':
			end := strings.IndexByte(code[i:], ']')
			if end < 0 {
				return false
			}
			inner := strings.ToLower(code[i+1 : i+end])
			if inner != "" && strings.Trim(inner, "hms") == "" {
				return true // [h], [mm], [ss]: elapsed time
			}
			i += end
		default:
			switch c | 0x20 {
			case 'd', 'm', 'y', 'h', 's':
				return true
			}
		}
	}
	return false
}

// From1904 moves a day serial of the 1904 date system to the 1900 one.
func From1904(v string) string {
	d, err := decimal.NewFromString(v)
	if err != nil {
		return v
	}
	return d.Add(decimal.NewFromInt(1462)).String()
}

// ExcelSerialTime converts an Excel date serial to a wall-clock time in loc,
// rounded to the second as Excel displays it.
func ExcelSerialTime(serial float64, date1904 bool, loc *time.Location) time.Time {
	epoch := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		epoch = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	days := int(serial)
	secs := int64((serial-float64(days))*86400 + 0.5)
	t := epoch.AddDate(0, 0, days).Add(time.Duration(secs) * time.Second)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
}
