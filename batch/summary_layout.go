package batch

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
	fill  rowFill
	cells []outCell
}

// summaryLines lays the Summary out: the run, counts by result, totals by
// source currency, balances, and the rows that need a person.
func summaryLines(run ResultsRun, b *summaryBuilder, conflicts int, generated time.Time, warnings []sheet.WarningSummary) []summaryLine {
	var out []summaryLine
	add := func(style lineStyle, fill rowFill, cells ...outCell) {
		out = append(out, summaryLine{style: style, fill: fill, cells: cells})
	}
	label := func(name string, c outCell) { add(lineLabel, fillNone, textCell(name), c) }
	blank := func() { add(lineNormal, fillNone) }

	title := fmt.Sprintf("payrun results: run %d", run.ID)
	if run.SheetName != "" {
		title += " of " + filepath.Base(run.SheetName)
	}
	add(lineTitle, fillNone, textCell(title))
	label("Run", intCell(run.ID))
	label("Sheet", textCell(filepath.Base(run.SheetName)))
	label("Sheet SHA-256", textCell(run.SheetSHA256))
	label("Started", dateCell(run.StartedAt))
	if run.FinishedAt.IsZero() {
		label("Finished", textCell("not finished: the run was cut off; re-run payrun run on the same sheet"))
	} else {
		label("Finished", dateCell(run.FinishedAt))
	}
	label("Status", textCell(run.Status))
	label("Operator", textCell(run.Operator))
	label("Environment", textCell(run.Environment))
	label("Generated", dateCell(generated))
	s := b.summary(run.ID)
	label("Rows", intCell(int64(b.rows)))
	label("Paid or loaded by this run", intCell(int64(s.Moved)))
	if t := s.EarlierText(); t != "" {
		// A re-run of a settled sheet must not read as a second payment.
		label("Settled before this run", textCell(t+"; not paid again"))
	}
	if t := s.LaterText(); t != "" {
		label("Settled after this run", textCell(t))
	}
	label("Rows needing action", intCell(int64(b.needsAction)))
	label("Conflicts", intCell(int64(conflicts)))
	blank()

	add(lineHeader, fillNone, textCell("Result"), textCell("Rows"), textCell("Meaning"))
	for _, k := range ResultKinds {
		add(lineNormal, fillOf(k), textCell(string(k)), intCell(int64(b.counts[k])), textCell(resultMeaning[k]))
	}
	blank()

	add(lineHeader, fillNone, textCell("Source currency"), textCell("Rows"), textCell("Requested"),
		textCell("Paid by this run"), textCell("Fees"), textCell("Paid + fees"), textCell("Not paid"), textCell("Rows without a quote"),
		textCell("Paid by other runs"))
	for _, t := range s.Totals {
		add(lineNormal, fillNone,
			textCell(t.Currency), intCell(int64(t.Rows)),
			amountCell(decimal.NewNullDecimal(t.Requested), t.Currency),
			amountCell(decimal.NewNullDecimal(t.Paid), t.Currency),
			amountCell(decimal.NewNullDecimal(t.Fees), t.Currency),
			amountCell(decimal.NewNullDecimal(t.Paid.Add(t.Fees)), t.Currency),
			amountCell(decimal.NewNullDecimal(t.NotPaid), t.Currency),
			intCell(int64(t.Unquoted)),
			amountCell(decimal.NewNullDecimal(t.PaidEarlier.Add(t.PaidLater)), t.Currency))
	}
	blank()

	add(lineHeader, fillNone, textCell("Balance"), textCell("Before"), textCell("After"), textCell("Change"))
	bal := balanceTable(run)
	if len(bal) == 0 {
		add(lineNormal, fillNone, textCell("(no balances recorded for this run)"))
	}
	for _, br := range bal {
		change := decimal.NullDecimal{}
		if br.Before.Valid && br.After.Valid {
			change = decimal.NewNullDecimal(br.After.Decimal.Sub(br.Before.Decimal))
		}
		add(lineNormal, fillNone, textCell(br.Currency),
			amountCell(br.Before, br.Currency), amountCell(br.After, br.Currency), amountCell(change, br.Currency))
	}
	blank()

	if len(warnings) > 0 {
		// One line per kind: 10,000 "currency symbol removed" are one.
		add(lineHeader, fillNone, textCell("Sheet warning"), textCell("Rows"), textCell("First rows"))
		for _, w := range warnings {
			first := w.First
			first.Line, first.Sheet = 0, ""
			add(lineNormal, fillAmber, textCell(strings.TrimSpace(first.String())), intCell(int64(w.Count)), textCell(w.RowsText()))
		}
		blank()
	}

	add(lineHeader, fillNone, textCell("sheet_line"), textCell("client_transfer_id"), textCell("payee"),
		textCell("result"), textCell("kyc_upload_link"), textCell("action_needed"))
	if b.needsAction == 0 {
		add(lineNormal, fillGreen, textCell("No row needs action."))
	}
	for _, a := range b.actions {
		add(lineNormal, fillOf(a.Result), intCell(int64(a.SheetLine)), textCell(a.ClientTransferID),
			textCell(a.Payee), textCell(string(a.Result)), linkLabel(a.KYCUploadLink, "document-upload link"), textCell(a.Action))
	}
	if more := b.needsAction - len(b.actions); more > 0 {
		add(lineNormal, fillNone, textCell(fmt.Sprintf("... and %d more: see the Needs action sheet, or filter the result column", more)))
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
func linkLabel(url, label string) outCell {
	c := linkCell(url)
	if c.kind == cellLink {
		c.label = label
	}
	return c
}
