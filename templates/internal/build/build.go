// Package build writes payout-template.xlsx and payout-template.csv from the
// batch package's column table. `go generate ./templates` runs it through
// ../../gen; the templates test runs it too and compares, so a stale
// committed template fails the build. The output is reproducible: no clock,
// no randomness.
package build

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
	"github.com/xuri/excelize/v2"
)

const (
	payoutsSheet = "Payouts"
	lists        = "Lists"
	lastRow      = 5000 // rows the drop-downs cover
	noteWidth    = 320
)

// column is one template column: its header, its note and its drop-down.
type column struct {
	header string
	doc    string
	list   []string // inline drop-down values
	ref    string   // or a range on the Lists payoutsSheet
}

// example is the one example row: a load that would validate clean but for
// its id, which carries batch.ExampleIDPrefix so ingest refuses to pay it
// (and plan names it) if finance forget to delete it.
var example = map[string]string{
	sheet.ColClientTransferID: ingest.ExampleIDPrefix + "2026-07-0001", sheet.ColInternalUserID: "freelancer-0001", sheet.ColFirstName: "Ana",
	sheet.ColLastName: "Silva", sheet.ColEmail: "ana.silva@example.com", sheet.ColCountry: "BRA", sheet.ColAmount: "1250.00",
	sheet.ColMethod: "load", sheet.ColSourceCurrency: "USD", sheet.ColAmountIs: "source", sheet.ColNotes: "July 2026 invoice",
	sheet.ColNotifyUser: "yes",
}

// attrDocs explain the route attribute columns the sandbox catalog uses.
var attrDocs = []struct{ typ, doc string }{
	{"BankAccountNumber", "Payouts to a bank: the account number (USA 4-17 digits, MEX 18-digit CLABE, GBR 8 digits, ...)."},
	{"BankRoutingNumber", "Payouts to USA (ABA, 9 digits) or CAN (8-9 digits) banks: the routing number."},
	{"BankCode", "Payouts to IND (IFSC code), GBR (6-digit sort code) or NGA banks: the bank code."},
	{"IdentificationNumber", "Payouts to BRA banks: the payee's CPF, 11 digits."},
	{"PhoneNumber", "Mobile wallet payouts (PHL GCash): the wallet's phone number, +63..."},
	{"EmailAddress", "Interac payouts (CAN): the payee's Interac email."},
	{"WalletAddress", "Crypto payouts: the payee's wallet address (bc1... for BTC, 0x... for ETH and USDT)."},
}

func columns() []column {
	docs := map[string]string{}
	for _, c := range sheet.KnownColumns {
		docs[c.Name] = c.Doc
		if c.Required {
			docs[c.Name] = "Required. " + c.Doc
		}
	}
	var cols []column
	for _, name := range []string{
		sheet.ColClientTransferID, sheet.ColInternalUserID, sheet.ColFirstName, sheet.ColLastName, sheet.ColEmail,
		sheet.ColCountry, sheet.ColAmount, sheet.ColMethod, sheet.ColSourceCurrency, sheet.ColDestinationCurrency,
		sheet.ColAmountIs, sheet.ColDeliveryType, sheet.ColPayerName, sheet.ColDestinationToken,
	} {
		c := column{header: name, doc: docs[name]}
		switch name {
		case sheet.ColMethod:
			c.list = []string{sheet.MethodLoad, sheet.MethodPayout}
		case sheet.ColAmountIs:
			c.list = []string{sheet.AmountIsSource, sheet.AmountIsDestination}
		case sheet.ColDeliveryType:
			c.list = validate.DeliveryTypes
		case sheet.ColSourceCurrency:
			c.list = sheet.SourceCurrencies
		case sheet.ColDestinationCurrency:
			c.ref = listRef(1, len(sheet.DestinationCurrencies))
		case sheet.ColCountry:
			c.ref = listRef(0, len(sheet.Countries()))
		}
		cols = append(cols, c)
	}
	for _, a := range attrDocs {
		cols = append(cols, column{header: sheet.AttrPrefix + a.typ, doc: a.doc})
	}
	for _, name := range []string{sheet.ColNotes, sheet.ColNotifyUser, sheet.ColTimeToProcess, sheet.ColMobileNumber, sheet.ColDateOfBirth} {
		c := column{header: name, doc: docs[name]}
		if name == sheet.ColNotifyUser {
			c.list = []string{"yes", "no"}
		}
		cols = append(cols, c)
	}
	cols = append(cols, column{header: sheet.MetadataPrefix + "cost_center",
		doc: "Any metadata:<key> column is sent to MassPay as metadata and echoed in the results. Rename or add as many as you need."})
	return cols
}

// listRef is the absolute range of a column of the Lists sheet.
func listRef(col, n int) string {
	name, _ := excelize.ColumnNumberToName(col + 1)
	return "'" + lists + "'!$" + name + "$2:$" + name + "$" + fmtInt(n+1)
}

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// Write writes both templates into dir.
func Write(dir string) error {
	cols := columns()
	if err := writeXLSX(filepath.Join(dir, "payout-template.xlsx"), cols); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "payout-template.xlsx"), 0o644); err != nil {
		return err
	}
	return writeCSV(filepath.Join(dir, "payout-template.csv"), cols)
}

func writeCSV(path string, cols []column) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	var hdr, ex []string
	for _, c := range cols {
		hdr, ex = append(hdr, c.header), append(ex, example[c.header])
	}
	w.Write(hdr)
	w.Write(ex)
	w.Flush()
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func writeXLSX(path string, cols []column) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", payoutsSheet); err != nil {
		return err
	}
	if _, err := f.NewSheet(lists); err != nil {
		return err
	}
	// The Lists sheet: countries (alpha-3) and destination currencies.
	f.SetCellStr(lists, "A1", "country")
	for i, c := range sheet.Countries() {
		f.SetCellStr(lists, "A"+fmtInt(i+2), c.Alpha3)
	}
	f.SetCellStr(lists, "B1", "destination_currency")
	for i, c := range sheet.DestinationCurrencies {
		f.SetCellStr(lists, "B"+fmtInt(i+2), c)
	}
	if err := f.SetSheetVisible(lists, false); err != nil {
		return err
	}

	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}}})
	if err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49}) // "@": ids and account numbers stay text
	if err != nil {
		return err
	}
	for i, c := range cols {
		name, _ := excelize.ColumnNumberToName(i + 1)
		cell := name + "1"
		f.SetCellStr(payoutsSheet, cell, c.header)
		f.SetCellStyle(payoutsSheet, cell, cell, head)
		if c.header != sheet.ColAmount {
			f.SetColStyle(payoutsSheet, name, text)
		}
		f.SetColWidth(payoutsSheet, name, name, float64(max(14, len(c.header)+4)))
		if err := f.AddComment(payoutsSheet, excelize.Comment{Cell: cell, Author: "payrun", Text: c.doc, Width: noteWidth, Height: 110}); err != nil {
			return err
		}
		if c.list != nil || c.ref != "" {
			dv := excelize.NewDataValidation(true)
			dv.Sqref = name + "2:" + name + fmtInt(lastRow)
			if c.list != nil {
				if err := dv.SetDropList(c.list); err != nil {
					return err
				}
			} else {
				dv.SetSqrefDropList(c.ref)
			}
			dv.SetError(excelize.DataValidationErrorStyleStop, "Not in the list", "Pick a value from the drop-down list. See the note on the header cell.")
			if err := f.AddDataValidation(payoutsSheet, dv); err != nil {
				return err
			}
		}
		if v := example[c.header]; v != "" {
			if c.header == sheet.ColAmount {
				f.SetCellDefault(payoutsSheet, name+"2", v) // a number, written from its decimal text
			} else {
				f.SetCellStr(payoutsSheet, name+"2", v)
			}
		}
	}
	if err := f.SetPanes(payoutsSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	if err := f.AddComment(payoutsSheet, excelize.Comment{Cell: "A2", Author: "payrun", Width: noteWidth, Height: 80,
		Text: "Example row: delete it and write your own rows. payrun never pays a row whose client_transfer_id starts with " + ingest.ExampleIDPrefix + "."}); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	return f.SaveAs(path)
}
