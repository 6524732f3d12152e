package ingest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/shopspring/decimal"
)

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "y", "yes", "true", "1", "x", "on", "si", "sí", "oui", "ja":
		return true, true
	case "n", "no", "false", "0", "off", "non", "nein":
		return false, true
	}
	return false, false
}

// timeLayouts are the ways people write time_to_process, zone first.
var timeLayouts = []struct {
	layout string
	zoned  bool
}{
	{time.RFC3339, true}, {"2006-01-02T15:04Z07:00", true}, {"2006-01-02 15:04:05Z07:00", true},
	{"2006-01-02T15:04:05", false}, {"2006-01-02T15:04", false}, {"2006-01-02 15:04:05", false},
	{"2006-01-02 15:04", false}, {"2006-01-02", false},
}

// parseTime reads a time as written in a sheet, or an Excel date serial
// (days since 1899-12-30) as a CSV export of a date cell may carry.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	for _, l := range timeLayouts {
		if l.zoned {
			if t, err := time.Parse(l.layout, s); err == nil {
				return t, nil
			}
			continue
		}
		if t, err := time.ParseInLocation(l.layout, s, loc); err == nil {
			return t, nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 1 && f < 2958466 {
		return sheet.ExcelSerialTime(f, false, loc), nil
	}
	return time.Time{}, fmt.Errorf("parse time %q: unknown layout", s)
}

var dateLayouts = []string{"2006-01-02", "2006/01/02", "2006-1-2", "02.01.2006", "2.1.2006", "2006-01-02T15:04:05"}

// parseDate normalises a date of birth to YYYY-MM-DD. Day/month orders that
// cannot be told apart (03/04/1990) are refused rather than guessed.
func parseDate(s string) (string, error) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 1 && f < 2958466 {
		return sheet.ExcelSerialTime(f, false, time.UTC).Format("2006-01-02"), nil
	}
	return "", fmt.Errorf("parse date %q: unknown layout", s)
}

// ParsePercent reads a percentage ("12.5", "12,5 %"): a lone comma is a
// decimal comma, whatever the file's decimal mark.
func ParsePercent(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	v, _, err := sheet.ParseAmount(s, strings.Contains(s, ",") && !strings.Contains(s, "."))
	return v, err
}
