package xlsxread

import "strings"

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
