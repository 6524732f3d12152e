package results

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/xuri/excelize/v2"
)

// DefaultPlanPath is where `payrun plan` writes its workbook: next to the
// sheet, never over it.
func DefaultPlanPath(sheetPath string) string {
	ext := filepath.Ext(sheetPath)
	return strings.TrimSuffix(sheetPath, ext) + ".plan.xlsx"
}

// WritePlan writes the plan as a workbook: a Summary sheet (per currency:
// requested, fees, balance, shortfall) and a Quotes sheet (one line per
// payout row with its route, fee and rate). Written atomically, with
// DefaultFileMode.
func WritePlan(path string, p *Plan) error { return WritePlanMode(path, p, 0) }

// WritePlanMode is WritePlan with the file's mode (0 for DefaultFileMode).
func WritePlanMode(path string, p *Plan, mode os.FileMode) error {
	f := excelize.NewFile()
	defer f.Close()
	const sum, quotes = "Summary", "Quotes"
	if err := f.SetSheetName("Sheet1", sum); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if _, err := f.NewSheet(quotes); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	bold, _ := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	rows := [][]any{
		{"Rows", p.Rows},
		{"Loads", p.ByMethod[sheet.MethodLoad]},
		{"Payouts", p.ByMethod[sheet.MethodPayout]},
		{"Payout rows without a route", len(p.NoRoute)},
		{"Payout rows missing details", len(p.NeedDetails)},
		{"Payout rows whose details are checked at run time", p.DetailsUnchecked},
		{},
		{"Currency", "Requested", "Estimated fees", "Balance", "Shortfall"},
	}
	for _, c := range p.Currencies() {
		short := any("")
		if s, ok := p.Shortfall[c]; ok {
			short = s.InexactFloat64()
		}
		rows = append(rows, []any{c, p.Requested[c].InexactFloat64(), p.Fees[c].InexactFloat64(), p.Balances[c].InexactFloat64(), short})
	}
	if len(p.Warnings) > 0 {
		rows = append(rows, []any{}, []any{"Sheet warnings (one line per kind)", "Rows", "First rows"})
		for _, w := range p.Warnings {
			first := w.First
			first.Line, first.Sheet = 0, ""
			rows = append(rows, []any{InertText(strings.TrimSpace(first.String())), w.Count, w.RowsText()})
		}
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sum, cell, &r); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
	}
	_ = f.SetCellStyle(sum, "A8", "E8", bold)
	_ = f.SetColWidth(sum, "A", "A", 48)
	_ = f.SetColWidth(sum, "B", "E", 16)

	head := []any{"row", "client_transfer_id", "country", "delivery_type", "payer_name", "destination_token",
		"source_currency", "source_amount", "fee", "destination_currency", "exchange_rate", "destination_amount", "problem"}
	if err := f.SetSheetRow(quotes, "A1", &head); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	_ = f.SetCellStyle(quotes, "A1", "M1", bold)
	for i, q := range p.Quotes {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		r := []any{q.Line, InertText(q.ID), q.Country, q.DeliveryType, InertText(q.PayerName), q.DestinationToken, q.SourceCurrency,
			q.SourceAmount.InexactFloat64(), q.Fee.InexactFloat64(), q.DestinationCurrency, q.Rate.InexactFloat64(),
			q.DestinationAmount.InexactFloat64(), q.Problem}
		if err := f.SetSheetRow(quotes, cell, &r); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
	}
	_ = f.SetPanes(quotes, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
	_ = f.SetColWidth(quotes, "B", "B", 22)
	_ = f.SetColWidth(quotes, "F", "F", 30)
	return WriteAtomicMode(path, mode, func(w io.Writer) error { return f.Write(w) })
}
