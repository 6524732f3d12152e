package build

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/autopay"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
	"github.com/xuri/excelize/v2"
)

// AutopayFile is the autopay rules template's file name without extension.
const AutopayFile = "autopay-rules-template"

const autopaySheet = "Autopay rules"

// autopayExample is the template's example row: a rule that would validate
// clean but for its payee id, which carries batch.ExampleIDPrefix so applying
// the untouched template routes nobody's money to the example account.
var autopayExample = map[string]string{
	sheet.ColInternalUserID: ingest.ExampleIDPrefix + "freelancer-0001", autopay.ColWalletCurrency: "USD", autopay.ColPercentage: "25",
	sheet.ColCountry: "BRA", sheet.ColDeliveryType: "BANK_DEPOSIT", sheet.ColDestinationCurrency: "BRL",
	autopay.ColAction:                      autopay.AutopayActionAdd,
	sheet.AttrPrefix + "BankAccountNumber": "123456789", sheet.AttrPrefix + "IdentificationNumber": "12345678901",
}

// autopayColumns are the rules template's columns: autopay.AutopayColumns,
// then the route attribute columns the catalog uses.
func autopayColumns() []column {
	var cols []column
	for _, c := range autopay.AutopayColumns {
		col := column{header: c.Name, doc: c.Doc}
		if c.Required {
			col.doc = "Required. " + c.Doc
		}
		switch c.Name {
		case autopay.ColAction:
			col.list = []string{autopay.AutopayActionAdd, autopay.AutopayActionRemove}
		case sheet.ColDeliveryType:
			col.list = validate.DeliveryTypes
		case autopay.ColWalletCurrency:
			col.list = sheet.SourceCurrencies
		}
		cols = append(cols, col)
	}
	for _, a := range attrDocs {
		cols = append(cols, column{header: sheet.AttrPrefix + a.typ, doc: "The payee's detail for the rule's route. " + a.doc})
	}
	return cols
}

// WriteAutopay writes the autopay rules templates (xlsx and csv) into dir.
func WriteAutopay(dir string) error {
	cols := autopayColumns()
	var hdr, ex []string
	for _, c := range cols {
		hdr, ex = append(hdr, c.header), append(ex, autopayExample[c.header])
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(hdr)
	w.Write(ex)
	w.Flush()
	if err := os.WriteFile(filepath.Join(dir, AutopayFile+".csv"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	p := filepath.Join(dir, AutopayFile+".xlsx")
	if err := writeAutopayXLSX(p, cols); err != nil {
		return err
	}
	return os.Chmod(p, 0o644)
}

func writeAutopayXLSX(path string, cols []column) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", autopaySheet); err != nil {
		return err
	}
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}}})
	if err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	for i, c := range cols {
		name, _ := excelize.ColumnNumberToName(i + 1)
		cell := name + "1"
		f.SetCellStr(autopaySheet, cell, c.header)
		f.SetCellStyle(autopaySheet, cell, cell, head)
		if c.header != autopay.ColPercentage {
			f.SetColStyle(autopaySheet, name, text)
		}
		f.SetColWidth(autopaySheet, name, name, float64(max(14, len(c.header)+4)))
		if err := f.AddComment(autopaySheet, excelize.Comment{Cell: cell, Author: "payrun", Text: c.doc, Width: noteWidth, Height: 110}); err != nil {
			return err
		}
		if c.list != nil {
			dv := excelize.NewDataValidation(true)
			dv.Sqref = name + "2:" + name + fmtInt(lastRow)
			if err := dv.SetDropList(c.list); err != nil {
				return err
			}
			dv.SetError(excelize.DataValidationErrorStyleStop, "Not in the list", "Pick a value from the drop-down list. See the note on the header cell.")
			if err := f.AddDataValidation(autopaySheet, dv); err != nil {
				return err
			}
		}
		if v := autopayExample[c.header]; v != "" {
			if c.header == autopay.ColPercentage {
				f.SetCellDefault(autopaySheet, name+"2", v)
			} else {
				f.SetCellStr(autopaySheet, name+"2", v)
			}
		}
	}
	if err := f.SetPanes(autopaySheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return f.SaveAs(path)
}
