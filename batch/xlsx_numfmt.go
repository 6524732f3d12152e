package batch

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// The number formats of a sheet's own columns travel with their values to
// the results: an invoice date stored as the day serial 46266 comes back as
// the date the sheet showed, not as 46266.

// styledCells is a worksheet reader that knows the number format of each
// cell of its current row.
type styledCells interface {
	cellNumFmt(col int) string
}

// formattedCells is a sheet source that knows the number format of the
// numeric cells of the row it last returned.
type formattedCells interface {
	numFmt(col int) string
}

// xmlStyles is the part of styles.xml that says how numbers are shown.
type xmlStyles struct {
	NumFmts []struct {
		ID   int    `xml:"numFmtId,attr"`
		Code string `xml:"formatCode,attr"`
	} `xml:"numFmts>numFmt"`
	Xfs []struct {
		NumFmtID int `xml:"numFmtId,attr"`
	} `xml:"cellXfs>xf"`
}

// builtinNumFmts are the number formats Excel numbers without writing them
// out (ECMA-376 Part 1, 18.8.30); 0 (General) and 49 (@, text) are left
// out: they show a number as it is.
var builtinNumFmts = map[int]string{
	1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
	9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?", 13: "# ??/??",
	14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy",
	18: "h:mm AM/PM", 19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm",
	37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)",
	45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0",
}

// numFmtsOf reads the number format code of every cell style of the
// workbook's styles part; nil when there is none or it cannot be read,
// which only costs the formats.
func (p *xlsxPackage) numFmtsOf(part string) []string {
	var st xmlStyles
	if err := p.decodeXML(part, &st); err != nil || len(st.Xfs) == 0 {
		return nil
	}
	custom := make(map[int]string, len(st.NumFmts))
	for _, f := range st.NumFmts {
		custom[f.ID] = f.Code
	}
	out := make([]string, len(st.Xfs))
	for i, xf := range st.Xfs {
		if c, ok := custom[xf.NumFmtID]; ok {
			out[i] = c
		} else {
			out[i] = builtinNumFmts[xf.NumFmtID]
		}
		if strings.EqualFold(out[i], "General") || out[i] == "@" {
			out[i] = ""
		}
	}
	return out
}

// isDateFormat reports whether a number format shows a date or a time: it
// has a date or time letter outside quotes, brackets and escapes ([h] and
// the like count; [Red] and [$-409] do not).
func isDateFormat(code string) bool {
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

// from1904 moves a day serial of the 1904 date system to the 1900 one.
func from1904(v string) string {
	d, err := decimal.NewFromString(v)
	if err != nil {
		return v
	}
	return d.Add(decimal.NewFromInt(1462)).String()
}

// formattedCell is a sheet cell that was a number with a number format: a
// number in the results, shown with the sheet's format; in CSV, a date
// format gives an ISO date and any other the number as stored.
func formattedCell(v, format string) (outCell, bool) {
	v = strings.TrimSpace(v)
	d, err := decimal.NewFromString(v)
	if err != nil || format == "" {
		return outCell{}, false
	}
	return outCell{kind: cellNumber, num: d, cur: format}, true
}

// serialText renders a day serial of the 1900 date system as ISO text: a
// date, with the time of day when it has one.
func serialText(d decimal.Decimal) string {
	f, _ := d.Float64() // a date, never money
	if f < 0 || f >= 2958466 {
		return d.String()
	}
	t := excelSerialTime(f, false, time.UTC)
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05")
}

// numberCSV is a formatted number as the results CSV writes it.
func numberCSV(c outCell) string {
	if isDateFormat(c.cur) {
		return serialText(c.num)
	}
	return c.num.String()
}
