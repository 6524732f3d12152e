package batch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// rowBuilder turns one row of cell text into a Row: it trims, normalises
// codes and parses the typed fields, recording what it could not read as the
// row's Problems. It checks nothing that needs other rows or options; that
// is Validate's job.
type rowBuilder struct {
	cols []Column
	// mark is the decimal mark of text amounts, ',' or '.', when the sheet
	// or --decimal-mark gave it; 0 reads each value by readAmount's rule.
	mark rune
	// typed, for a workbook, tells which cells of the row being built are
	// stored as text (a number carries no decimal mark to ask about) and
	// which are formulas. Nil for CSV and for cells rebuilt from the ledger.
	typed typedCells
	// formats, for a workbook, gives the number format of the numeric
	// cells of columns payrun does not read, echoed with them in the
	// results. Nil for CSV, whose cells are echoed as text as given.
	formats formattedCells
	// pointRow and commaRow are the first rows whose amount showed a
	// decimal point or comma, so a file mixing the two is refused.
	pointRow, commaRow markedRow
	loc                *time.Location
	sheet              string
}

// markedRow is a row whose amount showed its decimal mark, and that amount.
type markedRow struct {
	line    int
	text    string
	flagged bool // the row has been told about the mix already
}

func (b *rowBuilder) build(line int, cells []string) Row {
	row := Row{Line: line, Sheet: b.sheet, Input: make([]InputField, 0, len(b.cols))}
	var amountCol, amountText, ccyFromHeader string
	amountIdx := -1
	problem := func(col, val, rule, msg string, sev Severity) {
		row.Problems = append(row.Problems, Problem{Sheet: b.sheet, Line: line, Column: col, Value: val, Message: msg, Severity: sev, Rule: rule})
	}
	for i, c := range b.cols {
		raw := ""
		if i < len(cells) {
			raw = cells[i]
		}
		row.Input = append(row.Input, InputField{Header: c.Header, Value: raw})
		v := strings.TrimSpace(raw)
		switch {
		case c.Key == "":
			if b.formats != nil {
				row.Input[len(row.Input)-1].Format = b.formats.numFmt(i)
			}
			continue
		case strings.HasPrefix(c.Key, AttrPrefix):
			if v != "" {
				if row.Attrs == nil {
					row.Attrs = map[string]string{}
				}
				row.Attrs[c.Key[len(AttrPrefix):]] = v
			}
			continue
		case strings.HasPrefix(c.Key, MetadataPrefix):
			if v != "" {
				if row.Metadata == nil {
					row.Metadata = map[string]string{}
				}
				row.Metadata[c.Key[len(MetadataPrefix):]] = v
			}
			continue
		}
		switch c.Key {
		case ColClientTransferID:
			row.ClientTransferID = v
		case ColInternalUserID:
			row.InternalUserID = v
		case ColFirstName:
			row.FirstName = v
		case ColLastName:
			row.LastName = v
		case ColEmail:
			row.Email = v
		case ColCountry:
			row.Country = v
			if ctry, ok := LookupCountry(v); ok {
				row.Country = ctry.Alpha3
			}
		case ColAmount:
			amountCol, amountText, ccyFromHeader, amountIdx = c.Header, v, c.Currency, i
		case ColMethod:
			row.Method = strings.ToLower(v)
		case ColSourceCurrency:
			row.SourceCurrency = strings.ToUpper(v)
		case ColDestinationCurrency:
			row.DestinationCurrency = strings.ToUpper(v)
		case ColAmountIs:
			row.AmountIs = strings.ToLower(v)
		case ColDeliveryType:
			row.DeliveryType = strings.ToUpper(strings.NewReplacer(" ", "_", "-", "_").Replace(v))
		case ColPayerName:
			row.PayerName = v
		case ColDestinationToken:
			row.DestinationToken = v
		case ColNotes:
			row.Notes = v
		case ColNotifyUser:
			if v != "" {
				bv, ok := parseBool(v)
				if !ok {
					problem(c.Header, raw, "bad_bool", fmt.Sprintf("%q is not yes or no", v), SeverityError)
				} else {
					row.NotifyUser = &bv
				}
			}
		case ColTimeToProcess:
			if v != "" {
				t, err := parseTime(v, b.loc)
				if err != nil {
					problem(c.Header, raw, "bad_time", fmt.Sprintf("%q is not a date and time; write it like 2026-07-01 09:00 or 2026-07-01T09:00:00Z", v), SeverityError)
				} else {
					row.TimeToProcess = &t
				}
			}
		case ColAutopayPercentage:
			if v != "" {
				d, err := parsePercent(v)
				if err != nil {
					problem(c.Header, raw, "bad_percentage", fmt.Sprintf("%q is not a percentage", v), SeverityError)
				} else {
					row.AutopayPercentage = &d
				}
			}
		case ColAddress1:
			row.Address1 = v
		case ColAddress2:
			row.Address2 = v
		case ColCity:
			row.City = v
		case ColStateProvince:
			row.StateProvince = v
		case ColPostalCode:
			row.PostalCode = v
		case ColMiddleName:
			row.MiddleName = v
		case ColLanguage:
			row.Language = v
		case ColMobileNumber:
			row.MobileNumber = v
		case ColBusinessName:
			row.BusinessName = v
		case ColDateOfBirth:
			row.DateOfBirth = v
			if v != "" {
				if d, err := parseDate(v); err != nil {
					problem(c.Header, raw, "bad_date", fmt.Sprintf("%q is not a date; write it like 1990-04-23", v), SeverityError)
				} else {
					row.DateOfBirth = d
				}
			}
		}
	}
	// Cells past the header's width are kept, so nothing typed is lost, up
	// to the columns the results workbook can hold.
	for i := len(b.cols); i < len(cells); i++ {
		if strings.TrimSpace(cells[i]) == "" {
			continue
		}
		if len(row.Input) >= MaxInputColumns {
			problem(colLetter(i), clipValue(cells[i]), "too_many_columns",
				fmt.Sprintf("the row has %d cells; a sheet may have at most %d columns, and the cells from column %s on are past it", len(cells), MaxInputColumns, colLetter(i)), SeverityError)
			break
		}
		f := InputField{Header: "", Value: cells[i]}
		if b.formats != nil {
			f.Format = b.formats.numFmt(i)
		}
		row.Input = append(row.Input, f)
	}

	// Defaults, in the order the design lists them.
	if row.Method == "" {
		row.Method = MethodLoad
		if row.DeliveryType != "" || row.DestinationToken != "" || row.PayerName != "" {
			row.Method = "" // a route without a method: Validate asks which was meant
		}
	}
	if row.SourceCurrency == "" {
		row.SourceCurrency = "USD"
		if ccyFromHeader != "" {
			row.SourceCurrency = ccyFromHeader
		}
	}
	if row.AmountIs == "" {
		row.AmountIs = AmountIsSource
	}
	if row.Method == MethodPayout && row.DestinationToken == "" {
		if row.DeliveryType == "" && IsCrypto(row.DestinationCurrency) {
			row.DeliveryType = DeliveryCryptocurrency
			problem("delivery_type", "", "default_delivery_type",
				fmt.Sprintf("delivery_type is empty; using CRYPTOCURRENCY for a %s payout", row.DestinationCurrency), SeverityWarning)
		}
		if row.DestinationCurrency == "" && row.DeliveryType != DeliveryCryptocurrency {
			if ctry, ok := LookupCountry(row.Country); ok && ctry.Currency != "" && ctry.Currency != "XXX" {
				row.DestinationCurrency = ctry.Currency
				problem("destination_currency", "", "default_destination_currency",
					fmt.Sprintf("destination_currency is empty; using %s, the currency of %s", ctry.Currency, ctry.Alpha3), SeverityWarning)
			}
		}
	}

	if label, ok := totalLabel(row, cells); ok {
		// One mistake that says what the row is, instead of an "is empty"
		// for every payee column; its amount is nobody's.
		row.amountText = amountText
		row.Problems = []Problem{{Sheet: b.sheet, Line: line, Column: totalColumn(b.cols, cells, label), Value: label, Rule: RuleTotalRow, Severity: SeverityError,
			Message: fmt.Sprintf("%q: this looks like a total row, not a payment; delete it (payrun adds up the sheet itself)", label)}}
		return row
	}
	if isExampleID(row.ClientTransferID) {
		problem(ColClientTransferID, row.ClientTransferID, "template_example",
			fmt.Sprintf("%q: this is the template's example row; delete it (ids starting with %s are never paid)", row.ClientTransferID, ExampleIDPrefix), SeverityError)
	}
	row.amountText = amountText
	if amountText != "" {
		b.amount(&row, amountCol, amountText, b.typed != nil && !b.typed.textCell(amountIdx), problem)
		if b.typed != nil && b.typed.formulaCell(amountIdx) {
			b.formulaDecimals(&row, amountCol, amountText, problem)
		}
	} else if amountIdx >= 0 && b.typed != nil && b.typed.formulaCell(amountIdx) {
		problem(amountCol, "", "bad_amount", "the amount is a formula that was never calculated (the file was written by a program that does not calculate); open it in Excel or LibreOffice and save it, or type the number", SeverityError)
	}
	return row
}

// RuleTotalRow is the rule of a row that is a sheet's total, not a payment.
// Validate reports nothing else about such a row.
const RuleTotalRow = "total_row"

// totalWords are the labels people put on a total row, lower case.
var totalWords = []string{"total", "totals", "grand total", "subtotal", "sub-total", "sub total", "sum", "summe", "gesamt", "total general", "totaal"}

// totalLabel reports whether row, built from cells, is a total line: a cell
// reads "Total" (or the like) and at most one of the payee's identifying
// columns holds anything else. A payee whose first name is Total still has
// an id, an email and a last name.
func totalLabel(row Row, cells []string) (string, bool) {
	label := ""
	for _, c := range cells {
		t := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(c), ":"))
		// Every row passes here: rule out most cells without allocating.
		if len(t) < 3 || len(t) > 20 || !strings.ContainsRune("tTsSgG", rune(t[0])) {
			continue
		}
		for _, w := range totalWords {
			if strings.EqualFold(t, w) || (w == "total" && len(t) > 6 && strings.EqualFold(t[:6], "total ")) {
				label = strings.TrimSpace(c)
				break
			}
		}
		if label != "" {
			break
		}
	}
	if label == "" {
		return "", false
	}
	filled := 0
	for _, v := range []string{row.ClientTransferID, row.InternalUserID, row.FirstName, row.LastName, row.Email} {
		if v != "" && v != label {
			filled++
		}
	}
	return label, filled <= 1
}

// totalColumn is the header of the cell holding a total row's label.
func totalColumn(cols []Column, cells []string, label string) string {
	for i, c := range cells {
		if strings.TrimSpace(c) == label && i < len(cols) {
			return cols[i].Header
		}
	}
	return ""
}

// ExampleIDPrefix starts the client_transfer_id of the template's example
// row. The example looks like a real payment on purpose, so a row with this
// id is always a mistake: finance who add their rows under it and forget to
// delete it must not pay the example payee in production.
const ExampleIDPrefix = "EXAMPLE-"

// isExampleID reports whether id is reserved for the template's example,
// whatever its case ("example-1" was typed by someone copying the example).
func isExampleID(id string) bool {
	return len(id) >= len(ExampleIDPrefix) && strings.EqualFold(id[:len(ExampleIDPrefix)], ExampleIDPrefix)
}

// amount parses the amount cell and checks a symbol against the currency.
// number says the workbook stores the cell as a number.
func (b *rowBuilder) amount(row *Row, col, v string, number bool, problem func(col, val, rule, msg string, sev Severity)) {
	var (
		p     amountParse
		shown rune
		err   error
	)
	if number && looksNumeric(v) {
		p, err = parseAmount(v, false)
	} else {
		p, shown, err = readAmount(v, b.mark)
	}
	if err != nil {
		msg := err.Error()
		switch {
		case errors.Is(err, ErrAmountEmpty):
			return
		case errors.Is(err, ErrAmountNotNumber) && !strings.Contains(msg, "scientific"):
			msg = fmt.Sprintf("%q is not a number", v)
		default:
			for _, e := range []error{ErrAmountNotNumber, ErrAmountSeparators, ErrAmountAmbiguous} {
				msg = strings.TrimPrefix(msg, e.Error()+": ")
			}
		}
		problem(col, v, "bad_amount", msg, SeverityError)
		return
	}
	if shown != 0 && !b.mixedMarks(row, col, v, shown, problem) {
		return
	}
	row.Amount = p.value
	for _, w := range p.warnings {
		problem(col, v, "currency_symbol", w, SeverityWarning)
	}
	if p.currency != "" && p.currency != row.AmountCurrency() {
		problem(col, v, "currency_mismatch", fmt.Sprintf("%q is written in %s but the amount is in %s", v, p.currency, row.AmountCurrency()), SeverityError)
	}
}

// mixedMarks records the decimal mark the amount v of row showed and
// reports false, with a problem naming both rows, when an earlier row showed
// the other one: one file is written with one mark, so one of the two rows
// was typed by someone else or pasted from elsewhere, and a person must say
// which. The earlier row gets a problem too (once), so neither is paid.
func (b *rowBuilder) mixedMarks(row *Row, col, v string, shown rune, problem func(col, val, rule, msg string, sev Severity)) bool {
	mine, other := &b.pointRow, &b.commaRow
	if shown == ',' {
		mine, other = other, mine
	}
	if mine.line == 0 {
		*mine = markedRow{line: row.Line, text: v}
	}
	if other.line == 0 || other.line == row.Line {
		return true
	}
	name := map[rune]string{'.': "a decimal point", ',': "a decimal comma"}
	otherMark := rune(',')
	if shown == ',' {
		otherMark = '.'
	}
	problem(col, v, "bad_amount", fmt.Sprintf("%q is written with %s but row %d (%q) with %s; one file uses one decimal mark: correct one of them, or say which with --decimal-mark (decimal_mark in payrun.toml)",
		v, name[shown], other.line, other.text, name[otherMark]), SeverityError)
	if !other.flagged {
		other.flagged = true
		row.Problems = append(row.Problems, Problem{Sheet: b.sheet, Line: other.line, Column: col, Value: other.text, Rule: "mixed_decimal_marks", Severity: SeverityError,
			Message: fmt.Sprintf("%q is written with %s but row %d (%q) with %s; one file uses one decimal mark: correct one of them, or say which with --decimal-mark (decimal_mark in payrun.toml)",
				other.text, name[otherMark], row.Line, v, name[shown])})
	}
	return false
}

// formulaDecimals refuses a formula's result with more decimals than the
// currency allows, saying to round it in the formula: =1000/3 is stored as
// 333.333333333333, and "12 decimals" alone does not tell finance what to do.
func (b *rowBuilder) formulaDecimals(row *Row, col, v string, problem func(col, val, rule, msg string, sev Severity)) {
	cur, ok := LookupCurrency(row.AmountCurrency())
	if !ok || row.Amount.IsZero() {
		return
	}
	if n := decimalPlaces(row.Amount); n > cur.Decimals {
		problem(col, v, "bad_amount", fmt.Sprintf("%q, the result of a formula, has %d decimals; %s allows %d: round it in the formula, =ROUND(..., %d)",
			v, n, cur.Code, cur.Decimals, cur.Decimals), SeverityError)
	}
}

// RowFromInput rebuilds a Row from the cells a SheetReader returned in
// Row.Input, as stored in the ledger. The decimal mark of the original file
// is not known here, so an amount that reads differently with a comma than
// with a point ("1,234") is refused rather than guessed, by the same rule as
// ingest without --decimal-mark (readAmount); every other amount reads as it
// did. Times without a zone are read in time.Local. The error
// joins the row's error-severity problems.
func RowFromInput(input []InputField) (Row, error) {
	hdr := make([]string, len(input))
	cells := make([]string, len(input))
	for i, f := range input {
		hdr[i], cells[i] = f.Header, f.Value
	}
	cols, _ := matchColumns("", 0, hdr, nil)
	b := rowBuilder{cols: cols, loc: time.Local}
	row := b.build(0, cells)
	var errs []error
	for _, p := range row.Problems {
		if p.Severity == SeverityError {
			errs = append(errs, errors.New(p.String()))
		}
	}
	return row, errors.Join(errs...)
}

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
		return excelSerialTime(f, false, loc), nil
	}
	return time.Time{}, fmt.Errorf("parse time %q: unknown layout", s)
}

// excelSerialTime converts an Excel date serial to a wall-clock time in loc,
// rounded to the second as Excel displays it.
func excelSerialTime(serial float64, date1904 bool, loc *time.Location) time.Time {
	epoch := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		epoch = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	days := int(serial)
	secs := int64((serial-float64(days))*86400 + 0.5)
	t := epoch.AddDate(0, 0, days).Add(time.Duration(secs) * time.Second)
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
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
		return excelSerialTime(f, false, time.UTC).Format("2006-01-02"), nil
	}
	return "", fmt.Errorf("parse date %q: unknown layout", s)
}

func parsePercent(s string) (decimal.Decimal, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	v, _, err := ParseAmount(s, strings.Contains(s, ",") && !strings.Contains(s, "."))
	return v, err
}
