package results

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/shopspring/decimal"
)

// lineStyle is how a Summary line is drawn.
type lineStyle uint8

const (
	lineNormal lineStyle = iota
	lineTitle            // the workbook's title
	lineHeader           // a table's header
	lineLabel            // a label: value line; the label is bold
)

// summaryLine is one line of the Summary, in XLSX and in CSV alike.
type summaryLine struct {
	style lineStyle
	fill  RowFill
	cells []Cell
}

// summaryLines lays the Summary out: the run, counts by result, totals by
// source currency, balances, and the rows that need a person.
func summaryLines(run ResultsRun, b *summaryBuilder, conflicts int, generated time.Time, warnings []sheet.WarningSummary) []summaryLine {
	var out []summaryLine
	add := func(style lineStyle, fill RowFill, cells ...Cell) {
		out = append(out, summaryLine{style: style, fill: fill, cells: cells})
	}
	label := func(name string, c Cell) { add(lineLabel, FillNone, TextCell(name), c) }
	blank := func() { add(lineNormal, FillNone) }

	title := fmt.Sprintf("payrun results: run %d", run.ID)
	if run.SheetName != "" {
		title += " of " + filepath.Base(run.SheetName)
	}
	add(lineTitle, FillNone, TextCell(title))
	label("Run", intCell(run.ID))
	label("Sheet", TextCell(filepath.Base(run.SheetName)))
	label("Sheet SHA-256", TextCell(run.SheetSHA256))
	label("Started", dateCell(run.StartedAt))
	if run.FinishedAt.IsZero() {
		label("Finished", TextCell("not finished: the run was cut off; re-run payrun run on the same sheet"))
	} else {
		label("Finished", dateCell(run.FinishedAt))
	}
	label("Status", TextCell(run.Status))
	label("Operator", TextCell(run.Operator))
	label("Environment", TextCell(run.Environment))
	label("Generated", dateCell(generated))
	s := b.summary(run.ID)
	label("Rows", intCell(int64(b.rows)))
	label("Paid or loaded by this run", intCell(int64(s.Moved)))
	if t := s.EarlierText(); t != "" {
		// A re-run of a settled sheet must not read as a second payment.
		label("Settled before this run", TextCell(t+"; not paid again"))
	}
	if t := s.LaterText(); t != "" {
		label("Settled after this run", TextCell(t))
	}
	label("Rows needing action", intCell(int64(b.needsAction)))
	label("Conflicts", intCell(int64(conflicts)))
	blank()

	add(lineHeader, FillNone, TextCell("Result"), TextCell("Rows"), TextCell("Meaning"))
	for _, k := range ResultKinds {
		add(lineNormal, fillOf(k), TextCell(string(k)), intCell(int64(b.counts[k])), TextCell(resultMeaning[k]))
	}
	blank()

	add(lineHeader, FillNone, TextCell("Source currency"), TextCell("Rows"), TextCell("Requested"),
		TextCell("Paid by this run"), TextCell("Fees"), TextCell("Paid + fees"), TextCell("Not paid"), TextCell("Rows without a quote"),
		TextCell("Paid by other runs"))
	for _, t := range s.Totals {
		add(lineNormal, FillNone,
			TextCell(t.Currency), intCell(int64(t.Rows)),
			AmountCell(decimal.NewNullDecimal(t.Requested), t.Currency),
			AmountCell(decimal.NewNullDecimal(t.Paid), t.Currency),
			AmountCell(decimal.NewNullDecimal(t.Fees), t.Currency),
			AmountCell(decimal.NewNullDecimal(t.Paid.Add(t.Fees)), t.Currency),
			AmountCell(decimal.NewNullDecimal(t.NotPaid), t.Currency),
			intCell(int64(t.Unquoted)),
			AmountCell(decimal.NewNullDecimal(t.PaidEarlier.Add(t.PaidLater)), t.Currency))
	}
	blank()

	add(lineHeader, FillNone, TextCell("Balance"), TextCell("Before"), TextCell("After"), TextCell("Change"))
	bal := balanceTable(run)
	if len(bal) == 0 {
		add(lineNormal, FillNone, TextCell("(no balances recorded for this run)"))
	}
	for _, br := range bal {
		change := decimal.NullDecimal{}
		if br.Before.Valid && br.After.Valid {
			change = decimal.NewNullDecimal(br.After.Decimal.Sub(br.Before.Decimal))
		}
		add(lineNormal, FillNone, TextCell(br.Currency),
			AmountCell(br.Before, br.Currency), AmountCell(br.After, br.Currency), AmountCell(change, br.Currency))
	}
	blank()

	if len(warnings) > 0 {
		// One line per kind: 10,000 "currency symbol removed" are one.
		add(lineHeader, FillNone, TextCell("Sheet warning"), TextCell("Rows"), TextCell("First rows"))
		for _, w := range warnings {
			first := w.First
			first.Line, first.Sheet = 0, ""
			add(lineNormal, FillAmber, TextCell(strings.TrimSpace(first.String())), intCell(int64(w.Count)), TextCell(w.RowsText()))
		}
		blank()
	}

	add(lineHeader, FillNone, TextCell("sheet_line"), TextCell("client_transfer_id"), TextCell("payee"),
		TextCell("result"), TextCell("kyc_upload_link"), TextCell("action_needed"))
	if b.needsAction == 0 {
		add(lineNormal, FillGreen, TextCell("No row needs action."))
	}
	for _, a := range b.actions {
		add(lineNormal, fillOf(a.Result), intCell(int64(a.SheetLine)), TextCell(a.ClientTransferID),
			TextCell(a.Payee), TextCell(string(a.Result)), linkLabel(a.KYCUploadLink, "document-upload link"), TextCell(a.Action))
	}
	if more := b.needsAction - len(b.actions); more > 0 {
		add(lineNormal, FillNone, TextCell(fmt.Sprintf("... and %d more: see the Needs action sheet, or filter the result column", more)))
	}
	return out
}

// resultMeaning explains each result kind in one line, for the Summary.
var resultMeaning = map[ResultKind]string{
	ResultPaid:        "paid out by MassPay",
	ResultLoaded:      "loaded into the payee's MassPay wallet",
	ResultScheduled:   "wallet load scheduled by MassPay",
	ResultNeedsAction: "waiting on a person: see action_needed",
	ResultFailed:      "refused by MassPay; not paid",
	ResultInvalid:     "row failed the sheet checks; never sent",
	ResultConflict:    "client_transfer_id already used for a different payment (in the ledger or at MassPay); not paid under it",
	ResultPending:     "outcome being confirmed; re-run to settle it (never paid twice)",
}

// linkLabel is a link shown as label in XLSX (the CSV keeps the URL), for
// narrow columns where the whole URL would be cut off.
func linkLabel(url, label string) Cell {
	c := linkCell(url)
	if c.kind == cellLink {
		c.label = label
	}
	return c
}
