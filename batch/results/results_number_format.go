package results

import (
	"strings"
	"time"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/shopspring/decimal"
)

// The number formats of a sheet's own columns travel with their values to
// the results: an invoice date stored as the day serial 46266 comes back as
// the date the sheet showed, not as 46266.

// formattedCell is a sheet cell that was a number with a number format: a
// number in the results, shown with the sheet's format; in CSV, a date
// format gives an ISO date and any other the number as stored.
func formattedCell(v, format string) (Cell, bool) {
	v = strings.TrimSpace(v)
	d, err := decimal.NewFromString(v)
	if err != nil || format == "" {
		return Cell{}, false
	}
	return Cell{kind: cellNumber, num: d, cur: format}, true
}

// serialText renders a day serial of the 1900 date system as ISO text: a
// date, with the time of day when it has one.
func serialText(d decimal.Decimal) string {
	f, _ := d.Float64() // a date, never money
	if f < 0 || f >= 2958466 {
		return d.String()
	}
	t := sheet.ExcelSerialTime(f, false, time.UTC)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05")
}

// numberCSV is a formatted number as the results CSV writes it.
func numberCSV(c Cell) string {
	if sheet.IsDateFormat(c.cur) {
		return serialText(c.num)
	}
	return c.num.String()
}
