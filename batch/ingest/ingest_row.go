package ingest

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
)

// rowBuilder turns one row of cell text into a Row: it trims, normalises
// codes and parses the typed fields, recording what it could not read as the
// row's Problems. It checks nothing that needs other rows or options; that
// is Validate's job.
type rowBuilder struct {
	cols []sheet.Column
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

func (b *rowBuilder) build(line int, cells []string) sheet.Row {
	row := sheet.Row{Line: line, Sheet: b.sheet, Input: make([]sheet.InputField, 0, len(b.cols))}
	var amountCol, amountText, ccyFromHeader string
	amountIdx := -1
	problem := func(col, val, rule, msg string, sev sheet.Severity) {
		row.Problems = append(row.Problems, sheet.Problem{Sheet: b.sheet, Line: line, Column: col, Value: val, Message: msg, Severity: sev, Rule: rule})
	}
	for i, c := range b.cols {
		raw := ""
		if i < len(cells) {
			raw = cells[i]
		}
		row.Input = append(row.Input, sheet.InputField{Header: c.Header, Value: raw})
		v := strings.TrimSpace(raw)
		switch {
		case c.Key == "":
			if b.formats != nil {
				row.Input[len(row.Input)-1].Format = b.formats.numFmt(i)
			}
			continue
		case strings.HasPrefix(c.Key, sheet.AttrPrefix):
			if v != "" {
				if row.Attrs == nil {
					row.Attrs = map[string]string{}
				}
				row.Attrs[c.Key[len(sheet.AttrPrefix):]] = v
			}
			continue
		case strings.HasPrefix(c.Key, sheet.MetadataPrefix):
			if v != "" {
				if row.Metadata == nil {
					row.Metadata = map[string]string{}
				}
				row.Metadata[c.Key[len(sheet.MetadataPrefix):]] = v
			}
			continue
		}
		switch c.Key {
		case sheet.ColClientTransferID:
			row.ClientTransferID = v
		case sheet.ColInternalUserID:
			row.InternalUserID = v
		case sheet.ColFirstName:
			row.FirstName = v
		case sheet.ColLastName:
			row.LastName = v
		case sheet.ColEmail:
			row.Email = v
		case sheet.ColCountry:
			row.Country = v
			if ctry, ok := sheet.LookupCountry(v); ok {
				row.Country = ctry.Alpha3
			}
		case sheet.ColAmount:
			amountCol, amountText, ccyFromHeader, amountIdx = c.Header, v, c.Currency, i
		case sheet.ColMethod:
			row.Method = strings.ToLower(v)
		case sheet.ColSourceCurrency:
			row.SourceCurrency = strings.ToUpper(v)
		case sheet.ColDestinationCurrency:
			row.DestinationCurrency = strings.ToUpper(v)
		case sheet.ColAmountIs:
			row.AmountIs = strings.ToLower(v)
		case sheet.ColDeliveryType:
			row.DeliveryType = strings.ToUpper(strings.NewReplacer(" ", "_", "-", "_").Replace(v))
		case sheet.ColPayerName:
			row.PayerName = v
		case sheet.ColDestinationToken:
			row.DestinationToken = v
		case sheet.ColNotes:
			row.Notes = v
		case sheet.ColNotifyUser:
			if v != "" {
				bv, ok := parseBool(v)
				if !ok {
					problem(c.Header, raw, "bad_bool", fmt.Sprintf("%q is not yes or no", v), sheet.SeverityError)
				} else {
					row.NotifyUser = &bv
				}
			}
		case sheet.ColTimeToProcess:
			if v != "" {
				t, err := parseTime(v, b.loc)
				if err != nil {
					problem(c.Header, raw, "bad_time", fmt.Sprintf("%q is not a date and time; write it like 2026-07-01 09:00 or 2026-07-01T09:00:00Z", v), sheet.SeverityError)
				} else {
					row.TimeToProcess = &t
				}
			}
		case sheet.ColAutopayPercentage:
			if v != "" {
				d, err := ParsePercent(v)
				if err != nil {
					problem(c.Header, raw, "bad_percentage", fmt.Sprintf("%q is not a percentage", v), sheet.SeverityError)
				} else {
					row.AutopayPercentage = &d
				}
			}
		case sheet.ColAddress1:
			row.Address1 = v
		case sheet.ColAddress2:
			row.Address2 = v
		case sheet.ColCity:
			row.City = v
		case sheet.ColStateProvince:
			row.StateProvince = v
		case sheet.ColPostalCode:
			row.PostalCode = v
		case sheet.ColMiddleName:
			row.MiddleName = v
		case sheet.ColLanguage:
			row.Language = v
		case sheet.ColMobileNumber:
			row.MobileNumber = v
		case sheet.ColBusinessName:
			row.BusinessName = v
		case sheet.ColDateOfBirth:
			row.DateOfBirth = v
			if v != "" {
				if d, err := parseDate(v); err != nil {
					problem(c.Header, raw, "bad_date", fmt.Sprintf("%q is not a date; write it like 1990-04-23", v), sheet.SeverityError)
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
			problem(sheet.ColumnLetter(i), validate.ClipValue(cells[i]), "too_many_columns",
				fmt.Sprintf("the row has %d cells; a sheet may have at most %d columns, and the cells from column %s on are past it", len(cells), MaxInputColumns, sheet.ColumnLetter(i)), sheet.SeverityError)
			break
		}
		f := sheet.InputField{Header: "", Value: cells[i]}
		if b.formats != nil {
			f.Format = b.formats.numFmt(i)
		}
		row.Input = append(row.Input, f)
	}

	// Defaults, in the order the design lists them.
	if row.Method == "" {
		row.Method = sheet.MethodLoad
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
		row.AmountIs = sheet.AmountIsSource
	}
	if row.Method == sheet.MethodPayout && row.DestinationToken == "" {
		if row.DeliveryType == "" && sheet.IsCrypto(row.DestinationCurrency) {
			row.DeliveryType = sheet.DeliveryCryptocurrency
			problem("delivery_type", "", "default_delivery_type",
				fmt.Sprintf("delivery_type is empty; using CRYPTOCURRENCY for a %s payout", row.DestinationCurrency), sheet.SeverityWarning)
		}
		if row.DestinationCurrency == "" && row.DeliveryType != sheet.DeliveryCryptocurrency {
			if ctry, ok := sheet.LookupCountry(row.Country); ok && ctry.Currency != "" && ctry.Currency != "XXX" {
				row.DestinationCurrency = ctry.Currency
				problem("destination_currency", "", "default_destination_currency",
					fmt.Sprintf("destination_currency is empty; using %s, the currency of %s", ctry.Currency, ctry.Alpha3), sheet.SeverityWarning)
			}
		}
	}

	if label, ok := totalLabel(row, cells); ok {
		// One mistake that says what the row is, instead of an "is empty"
		// for every payee column; its amount is nobody's.
		row.AmountText = amountText
		row.Problems = []sheet.Problem{{Sheet: b.sheet, Line: line, Column: totalColumn(b.cols, cells, label), Value: label, Rule: sheet.RuleTotalRow, Severity: sheet.SeverityError,
			Message: fmt.Sprintf("%q: this looks like a total row, not a payment; delete it (payrun adds up the sheet itself)", label)}}
		return row
	}
	if IsExampleID(row.ClientTransferID) {
		problem(sheet.ColClientTransferID, row.ClientTransferID, "template_example",
			fmt.Sprintf("%q: this is the template's example row; delete it (ids starting with %s are never paid)", row.ClientTransferID, ExampleIDPrefix), sheet.SeverityError)
	}
	row.AmountText = amountText
	if amountText != "" {
		b.amount(&row, amountCol, amountText, b.typed != nil && !b.typed.textCell(amountIdx), problem)
		if b.typed != nil && b.typed.formulaCell(amountIdx) {
			b.formulaDecimals(&row, amountCol, amountText, problem)
		}
	} else if amountIdx >= 0 && b.typed != nil && b.typed.formulaCell(amountIdx) {
		problem(amountCol, "", "bad_amount", "the amount is a formula that was never calculated (the file was written by a program that does not calculate); open it in Excel or LibreOffice and save it, or type the number", sheet.SeverityError)
	}
	return row
}

// ExampleIDPrefix starts the client_transfer_id of the template's example
// row. The example looks like a real payment on purpose, so a row with this
// id is always a mistake: finance who add their rows under it and forget to
// delete it must not pay the example payee in production.
const ExampleIDPrefix = "EXAMPLE-"

// IsExampleID reports whether id is reserved for the template's example,
// whatever its case ("example-1" was typed by someone copying the example).
func IsExampleID(id string) bool {
	return len(id) >= len(ExampleIDPrefix) && strings.EqualFold(id[:len(ExampleIDPrefix)], ExampleIDPrefix)
}

// amount parses the amount cell and checks a symbol against the currency.
// number says the workbook stores the cell as a number.
func (b *rowBuilder) amount(row *sheet.Row, col, v string, number bool, problem func(col, val, rule, msg string, sev sheet.Severity)) {
	var (
		p     sheet.AmountParse
		shown rune
		err   error
	)
	if number && looksNumeric(v) {
		p, err = sheet.ParseAmountFull(v, false)
	} else {
		p, shown, err = sheet.ReadAmount(v, b.mark)
	}
	if err != nil {
		msg := err.Error()
		switch {
		case errors.Is(err, sheet.ErrAmountEmpty):
			return
		case errors.Is(err, sheet.ErrAmountNotNumber) && !strings.Contains(msg, "scientific"):
			msg = fmt.Sprintf("%q is not a number", v)
		default:
			for _, e := range []error{sheet.ErrAmountNotNumber, sheet.ErrAmountSeparators, sheet.ErrAmountAmbiguous} {
				msg = strings.TrimPrefix(msg, e.Error()+": ")
			}
		}
		problem(col, v, "bad_amount", msg, sheet.SeverityError)
		return
	}
	if shown != 0 && !b.mixedMarks(row, col, v, shown, problem) {
		return
	}
	row.Amount = p.Value
	for _, w := range p.Warnings {
		problem(col, v, "currency_symbol", w, sheet.SeverityWarning)
	}
	if p.Currency != "" && p.Currency != row.AmountCurrency() {
		problem(col, v, "currency_mismatch", fmt.Sprintf("%q is written in %s but the amount is in %s", v, p.Currency, row.AmountCurrency()), sheet.SeverityError)
	}
}

// mixedMarks records the decimal mark the amount v of row showed and
// reports false, with a problem naming both rows, when an earlier row showed
// the other one: one file is written with one mark, so one of the two rows
// was typed by someone else or pasted from elsewhere, and a person must say
// which. The earlier row gets a problem too (once), so neither is paid.
func (b *rowBuilder) mixedMarks(row *sheet.Row, col, v string, shown rune, problem func(col, val, rule, msg string, sev sheet.Severity)) bool {
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
		v, name[shown], other.line, other.text, name[otherMark]), sheet.SeverityError)
	if !other.flagged {
		other.flagged = true
		row.Problems = append(row.Problems, sheet.Problem{Sheet: b.sheet, Line: other.line, Column: col, Value: other.text, Rule: "mixed_decimal_marks", Severity: sheet.SeverityError,
			Message: fmt.Sprintf("%q is written with %s but row %d (%q) with %s; one file uses one decimal mark: correct one of them, or say which with --decimal-mark (decimal_mark in payrun.toml)",
				other.text, name[otherMark], row.Line, v, name[shown])})
	}
	return false
}

// formulaDecimals refuses a formula's result with more decimals than the
// currency allows, saying to round it in the formula: =1000/3 is stored as
// 333.333333333333, and "12 decimals" alone does not tell finance what to do.
func (b *rowBuilder) formulaDecimals(row *sheet.Row, col, v string, problem func(col, val, rule, msg string, sev sheet.Severity)) {
	cur, ok := sheet.LookupCurrency(row.AmountCurrency())
	if !ok || row.Amount.IsZero() {
		return
	}
	if n := sheet.DecimalPlaces(row.Amount); n > cur.Decimals {
		problem(col, v, "bad_amount", fmt.Sprintf("%q, the result of a formula, has %d decimals; %s allows %d: round it in the formula, =ROUND(..., %d)",
			v, n, cur.Code, cur.Decimals, cur.Decimals), sheet.SeverityError)
	}
}

// RowFromInput rebuilds a Row from the cells a SheetReader returned in
// Row.Input, as stored in the ledger. The decimal mark of the original file
// is not known here, so an amount that reads differently with a comma than
// with a point ("1,234") is refused rather than guessed, by the same rule as
// ingest without --decimal-mark (readAmount); every other amount reads as it
// did. Times without a zone are read in time.Local. The error
// joins the row's error-severity problems.
func RowFromInput(input []sheet.InputField) (sheet.Row, error) {
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
		if p.Severity == sheet.SeverityError {
			errs = append(errs, errors.New(p.String()))
		}
	}
	return row, errors.Join(errs...)
}
