package results

import (
	"strconv"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/shopspring/decimal"
)

// The results are laid out once, as rows of typed cells, and rendered twice:
// as XLSX cells with number formats and fills, and as CSV text. Both formats
// therefore always carry the same columns and the same values.

// outKind says how a cell is typed and formatted.
type outKind uint8

const (
	cellEmpty  outKind = iota
	cellText           // a string, made inert against formula injection
	cellAmount         // money in cur, formatted with cur's decimals
	cellRate           // an exchange rate
	cellDate           // an instant, shown in UTC
	cellInt            // a count
	cellLink           // an https link, clickable in XLSX
	cellNumber         // a sheet's number in num, with its number format in cur
)

// Cell is one typed value of the results or an export table; the zero
// Cell is an empty cell.
type Cell struct {
	kind  outKind
	text  string          // cellText, cellLink
	label string          // cellLink: text shown instead of the URL, XLSX only
	num   decimal.Decimal // cellAmount, cellRate
	cur   string          // cellAmount
	at    time.Time       // cellDate
	n     int64           // cellInt
}

// TextCell is a text cell (empty when s is).
func TextCell(s string) Cell {
	if s == "" {
		return Cell{}
	}
	return Cell{kind: cellText, text: s}
}

// AmountCell is an amount in currency cur, shown with its decimals (empty
// when d is null).
func AmountCell(d decimal.NullDecimal, cur string) Cell {
	if !d.Valid {
		return Cell{}
	}
	return Cell{kind: cellAmount, num: d.Decimal, cur: strings.ToUpper(cur)}
}

// RateCell is an exchange rate or percentage (empty when d is null).
func RateCell(d decimal.NullDecimal) Cell {
	if !d.Valid {
		return Cell{}
	}
	return Cell{kind: cellRate, num: d.Decimal}
}

func dateCell(t time.Time) Cell {
	if t.IsZero() {
		return Cell{}
	}
	return Cell{kind: cellDate, at: t.UTC()}
}

func intCell(n int64) Cell { return Cell{kind: cellInt, n: n} }

// linkCell is a clickable link when s is an http(s) URL, and plain text
// otherwise: a link from a server is not trusted to be anything else.
func linkCell(s string) Cell {
	if s == "" {
		return Cell{}
	}
	if l := strings.ToLower(s); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		return Cell{kind: cellLink, text: s}
	}
	return TextCell(s)
}

// dateOrText is a date cell when s parses as one of the timestamp layouts
// MassPay uses, and text otherwise ("1-2 business days").
func dateOrText(s string) Cell {
	s = strings.TrimSpace(s)
	if s == "" {
		return Cell{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return dateCell(t)
		}
	}
	return TextCell(s)
}

// currencyDecimals is the number of decimals amounts in cur are shown with.
func currencyDecimals(cur string) int32 {
	if c, ok := sheet.LookupCurrency(cur); ok {
		return c.Decimals
	}
	return 2
}

// MarshalCSV renders c as the results CSV does, so an export record's Cell
// fields (see RecordTable) are written by gocsv byte for byte like the
// results' own cells.
func (c Cell) MarshalCSV() (string, error) { return c.csvText(), nil }

// csvText renders c for CSV: numbers as plain decimals with the currency's
// decimals, dates as RFC 3339 UTC, text made inert.
func (c Cell) csvText() string {
	switch c.kind {
	case cellText, cellLink:
		return InertText(c.text)
	case cellAmount:
		return c.num.StringFixed(currencyDecimals(c.cur))
	case cellRate:
		return c.num.String()
	case cellDate:
		return c.at.Format(time.RFC3339)
	case cellInt:
		return strconv.FormatInt(c.n, 10)
	case cellNumber:
		return numberCSV(c)
	}
	return ""
}

// RowFill is the colour a whole row is filled with, by result.
type RowFill uint8

// The row fills, by result.
const (
	FillNone  RowFill = iota
	FillGreen         // settled: paid, loaded, scheduled
	FillAmber         // waits on a person: needs action, pending
	FillRed           // failed, invalid, conflict
)

// fillOf is the fill of a row with result k.
func fillOf(k ResultKind) RowFill {
	switch k {
	case ResultPaid, ResultLoaded, ResultScheduled:
		return FillGreen
	case ResultNeedsAction, ResultPending:
		return FillAmber
	case ResultFailed, ResultInvalid, ResultConflict:
		return FillRed
	}
	return FillNone
}

// The results' own columns are defined in batch/sheet, below ingest, which
// caps a sheet's width by their count; these are the same slices.
var (
	// FrontColumns are the first columns of the results (sheet.FrontColumns).
	FrontColumns = sheet.FrontColumns
	// DetailColumns are payrun's columns after the sheet's own
	// (sheet.DetailColumns).
	DetailColumns = sheet.DetailColumns
	// ResultColumns are every column payrun adds to the sheet's own
	// (sheet.ResultColumns).
	ResultColumns = sheet.ResultColumns
)

// resultColumnResult is the index of "result" in a results row: bold.
const resultColumnResult = 4

// resultsLayout says where each column of a results row comes from: the
// FrontColumns, the sheet's own columns but its id and amount (echo, as
// indexes into headers), then the DetailColumns.
type resultsLayout struct {
	headers []string // the sheet's header as read
	echo    []int    // the echoed columns, in sheet order
	names   []string // the header row of the results
}

// newResultsLayout lays out the results of a sheet with headers.
func newResultsLayout(headers []string) *resultsLayout {
	lay := &resultsLayout{headers: headers}
	var echoed []string
	for i, h := range headers {
		switch k, _ := sheet.MatchHeader(h); k {
		case sheet.ColClientTransferID, sheet.ColAmount:
			continue // shown first, as the ledger read them
		}
		lay.echo = append(lay.echo, i)
		echoed = append(echoed, h)
	}
	lay.names = append(append(append(make([]string, 0, len(ResultColumns)+len(echoed)), FrontColumns...),
		OutputInputHeaders(echoed)...), DetailColumns...)
	return lay
}

// echoFrom and echoTo bound the echoed columns in a results row.
func (l *resultsLayout) echoFrom() int { return len(FrontColumns) }
func (l *resultsLayout) echoTo() int   { return len(FrontColumns) + len(l.echo) }

// cells appends r's results row to dst.
func (l *resultsLayout) cells(dst []Cell, r *ResultRow) []Cell {
	dst = frontCells(dst, r)
	dst = inputCells(dst, r, l.headers, l.echo)
	return detailCells(dst, r)
}

// frontCells appends the cells of FrontColumns for r to dst.
func frontCells(dst []Cell, r *ResultRow) []Cell {
	cur := r.amountCurrency()
	return append(dst,
		TextCell(r.ClientTransferID),
		TextCell(resPayee(r)),
		rowAmountCell(r),
		TextCell(cur),
		TextCell(string(r.Result())),
		TextCell(joinNonEmpty(r.Action(), r.KYCNotice)),
		linkCell(r.KYCUploadLink),
		TextCell(r.LastError),
	)
}

// rowAmountCell is the row's amount as the ledger read it, in the sheet's
// amount currency; a row refused before its amount was read (INVALID,
// "abc") shows the sheet's text instead.
func rowAmountCell(r *ResultRow) Cell {
	if !r.Amount.IsZero() {
		return AmountCell(decimal.NewNullDecimal(r.Amount), r.amountCurrency())
	}
	raw := strings.TrimSpace(sheetAmount(r))
	if d, err := decimal.NewFromString(raw); err == nil {
		return AmountCell(decimal.NewNullDecimal(d), r.amountCurrency())
	}
	return TextCell(raw)
}

// sheetAmount is the value of the sheet's amount column, under any of the
// names ingest reads it by.
func sheetAmount(r *ResultRow) string {
	for _, f := range r.Input {
		if k, _ := sheet.MatchHeader(f.Header); k == sheet.ColAmount {
			return f.Value
		}
	}
	return ""
}

// detailCells appends the cells of DetailColumns for r to dst.
func detailCells(dst []Cell, r *ResultRow) []Cell {
	src, dstCur := r.sourceCurrency(), strings.ToUpper(r.DestinationCurrency)
	return append(dst,
		TextCell(r.MassPayStatus),
		dateCell(r.StatusChangedAt),
		TextCell(r.PayoutToken),
		TextCell(r.LoadToken),
		AmountCell(r.Fee, src),
		RateCell(r.ExchangeRate),
		AmountCell(r.SourceAmount, src),
		AmountCell(r.DestinationAmount, dstCur),
		TextCell(dstCur),
		TextCell(r.PickupCode),
		TextCell(r.PayerName),
		TextCell(r.DeliveryType),
		dateOrText(r.EstimatedAvailability),
		intCell(int64(r.Attempts)),
		dateCell(r.UpdatedAt),
	)
}

// amountCurrency is the currency of the sheet's amount column: the source
// currency unless the amount is a destination amount.
func (r *ResultRow) amountCurrency() string {
	if strings.EqualFold(r.AmountIs, "destination") && r.DestinationCurrency != "" {
		return strings.ToUpper(r.DestinationCurrency)
	}
	return r.sourceCurrency()
}

// inputCells appends the sheet's own cells for r, the columns echo names
// (indexes into headers), to dst. Values stay text as typed (account
// numbers keep their leading zeros).
func inputCells(dst []Cell, r *ResultRow, headers []string, echo []int) []Cell {
	for _, i := range echo {
		h := headers[i]
		var f sheet.InputField
		// Rows of one sheet share its header order; look up by position
		// first and by name only when a row differs.
		if i < len(r.Input) && r.Input[i].Header == h {
			f = r.Input[i]
		} else {
			for _, g := range r.Input {
				if g.Header == h {
					f = g
					break
				}
			}
		}
		dst = append(dst, echoCell(f))
	}
	return dst
}

// echoCell is one of the sheet's own cells as the results echo it: text as
// typed, or a number in the number format the sheet showed it in.
func echoCell(f sheet.InputField) Cell {
	if f.Format != "" {
		if c, ok := formattedCell(f.Value, f.Format); ok {
			return c
		}
	}
	return TextCell(f.Value)
}

// SheetColumnPrefix marks a sheet column echoed in the results under another
// name because its own would read as one of payrun's ResultColumns.
const SheetColumnPrefix = "sheet:"

// OutputInputHeaders returns the names the results give the sheet's own
// columns: the sheet's, except that a column whose name reads like one of
// ResultColumns (same letters, ignoring case, spaces, '_' and '-') is echoed
// as "sheet:<name>". Without it a sheet's "result" column saying PAID, or its
// "kyc_upload_link", would pass for payrun's own in the workbook and the
// console. The names returned are distinct from each other and from
// ResultColumns.
func OutputInputHeaders(headers []string) []string {
	taken := make(map[string]bool, len(headers)+len(ResultColumns))
	for _, c := range ResultColumns {
		taken[resFoldHeader(c)] = true
	}
	out := make([]string, len(headers))
	for i, h := range headers {
		name := h
		for taken[resFoldHeader(name)] {
			name = SheetColumnPrefix + name
		}
		taken[resFoldHeader(name)] = true
		out[i] = name
	}
	return out
}

// inputHeaders is the header list of a row's input columns.
func inputHeaders(r *ResultRow) []string {
	h := make([]string, len(r.Input))
	for i, f := range r.Input {
		h[i] = f.Header
	}
	return h
}

// NeedsActionColumns are the columns of the "Needs action" sheet: the
// Results' FrontColumns in the same order, then how to reach the payee and
// where the row is in the sheet.
var NeedsActionColumns = []string{
	"client_transfer_id", "payee", "amount", "result", "action_needed",
	"kyc_upload_link", "error", "email", "sheet_line",
}

// needsActionCells appends r's cells for the "Needs action" sheet to dst.
func needsActionCells(dst []Cell, r *ResultRow) []Cell {
	return append(dst,
		TextCell(r.ClientTransferID),
		TextCell(resPayee(r)),
		rowAmountCell(r),
		TextCell(string(r.Result())),
		TextCell(joinNonEmpty(r.Action(), r.KYCNotice)),
		linkCell(r.KYCUploadLink),
		TextCell(r.LastError),
		TextCell(resInput(r, "email")),
		intCell(int64(r.SheetLine)),
	)
}

// ConflictColumns are the columns of the "Conflicts" sheet.
var ConflictColumns = []string{"sheet_line", "client_transfer_id", "field", "this_sheet", "ledger", "ledger_since_run"}

// FlipColumns are the columns of the "Flips" sheet.
var FlipColumns = []string{"client_transfer_id", "token", "was", "now", "source_amount", "detected_at", "action_needed"}

func flipCells(dst []Cell, f *Flip) []Cell {
	return append(dst,
		TextCell(f.ClientTransferID),
		TextCell(f.Token),
		TextCell(f.Was),
		TextCell(f.Now),
		AmountCell(f.SourceAmount, f.SourceCurrency),
		dateCell(f.DetectedAt),
		TextCell(f.ActionNeeded),
	)
}

// joinNonEmpty joins the non-empty parts with "; ".
func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
