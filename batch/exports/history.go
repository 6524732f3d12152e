package exports

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gocarina/gocsv"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/masspay"
)

// HistoryAPI is the part of MassPay the history export reads.
type HistoryAPI interface {
	AllUsersHistory(ctx context.Context, hp masspay.HistoryParams) ([]masspay.TxnHistory, error)
}

var _ HistoryAPI = (*masspay.Client)(nil)

// ErrHistoryPaging means MassPay kept answering pages past the page limit
// or repeated a page: the export stops instead of looping.
var ErrHistoryPaging = errors.New("history paging did not end")

// HistoryOptions tune ExportHistory.
type HistoryOptions struct {
	// Format is xlsx (default) or csv.
	Format ingest.Format
	// PageSize is number_of_records per request (default 100).
	PageSize int
	// MaxPages bounds the pages read (default 100000).
	MaxPages int
}

// HistorySummary is what ExportHistory wrote.
type HistorySummary struct {
	Path  string
	Rows  int
	Pages int
}

// SheetHistory is the name of the history workbook's sheet.
const SheetHistory = "History"

// HistoryColumns are the columns of the history export.
var HistoryColumns = results.RecordHeader[historyRecord]()

// ExportHistory pages through every user's transactions between from and to
// (dates, inclusive) and writes them to path for the books, atomically.
func ExportHistory(ctx context.Context, api HistoryAPI, from, to time.Time, path string, opts HistoryOptions) (HistorySummary, error) {
	sum := HistorySummary{Path: path}
	if path == "" {
		return sum, results.ErrResultsPathNeeded
	}
	per := opts.PageSize
	if per <= 0 {
		per = 100
	}
	maxPages := opts.MaxPages
	if maxPages <= 0 {
		maxPages = 100000
	}
	var w historyWriter
	a, err := results.CreateAtomic(path)
	if err != nil {
		return sum, err
	}
	defer a.Abort()
	if opts.Format == ingest.FormatCSV {
		w = newHistoryCSV(a)
	} else {
		w, err = newHistoryXLSX()
		if err != nil {
			return sum, err
		}
	}
	if err := w.header(HistoryColumns); err != nil {
		return sum, err
	}
	var lastFirst string
	for page := 1; ; page++ {
		if page > maxPages {
			return sum, fmt.Errorf("export history: %w (%d pages)", ErrHistoryPaging, maxPages)
		}
		rows, err := api.AllUsersHistory(ctx, masspay.HistoryParams{StartDate: from.Format(time.DateOnly),
			EndDate: to.Format(time.DateOnly), Page: page, NumberOfRecords: per})
		if err != nil {
			return sum, fmt.Errorf("fetch history page %d: %w", page, err)
		}
		if len(rows) == 0 {
			break
		}
		// A server that ignores page would hand the first page forever.
		if rows[0].Token != "" && rows[0].Token == lastFirst {
			return sum, fmt.Errorf("export history: %w (page %d repeats page %d)", ErrHistoryPaging, page, page-1)
		}
		lastFirst = rows[0].Token
		sum.Pages = page
		for i := range rows {
			if err := w.row(&rows[i]); err != nil {
				return sum, err
			}
			sum.Rows++
		}
		if len(rows) < per {
			break
		}
	}
	if err := w.finish(a); err != nil {
		return sum, err
	}
	return sum, a.Commit()
}

type historyWriter interface {
	header(cols []string) error
	row(r *masspay.TxnHistory) error
	finish(w io.Writer) error
}

// historyRecord is one transaction of the history CSV. Amounts are MassPay's
// decimals as it sent them (decimal.Decimal's text, never a float); texts
// are made inert against formula injection.
type historyRecord struct {
	TimeOfTxn           results.InertString `csv:"time_of_txn"`
	Type                results.InertString `csv:"type"`
	Token               results.InertString `csv:"token"`
	ClientTransferID    results.InertString `csv:"client_transfer_id"`
	UserToken           results.InertString `csv:"user_token"`
	Status              results.InertString `csv:"status"`
	StatusReason        results.InertString `csv:"status_reason"`
	SourceAmount        decimal.Decimal     `csv:"source_amount"`
	SourceCurrency      results.InertString `csv:"source_currency"`
	DestinationAmount   decimal.Decimal     `csv:"destination_amount"`
	DestinationCurrency results.InertString `csv:"destination_currency"`
	ExchangeRate        *decimal.Decimal    `csv:"exchange_rate"` // nil writes an empty cell
	Fee                 decimal.Decimal     `csv:"fee"`
	PickupCode          results.InertString `csv:"pickup_code"`
}

// historyCSVBatch is how many records are handed to gocsv at a time: it
// flushes after each call, so one call per row would be a write per row.
const historyCSVBatch = 256

// historyCSV writes the history with gocsv, in batches of records.
type historyCSV struct {
	w       *gocsv.SafeCSVWriter
	pending []historyRecord
}

func newHistoryCSV(w io.Writer) *historyCSV {
	return &historyCSV{w: gocsv.NewSafeCSVWriter(csv.NewWriter(w))}
}

// header writes the record's csv tags, which are HistoryColumns.
func (h *historyCSV) header([]string) error {
	if err := gocsv.MarshalCSV([]historyRecord{}, h.w); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

func (h *historyCSV) row(r *masspay.TxnHistory) error {
	text := func(s string) results.InertString { return results.InertString(s) }
	h.pending = append(h.pending, historyRecord{TimeOfTxn: text(r.TimeOfTxn), Type: text(r.Type),
		Token: text(r.Token), ClientTransferID: text(r.ClientTransferID), UserToken: text(r.UserToken),
		Status: text(r.Status), StatusReason: text(r.StatusReason), SourceAmount: r.SourceAmount,
		SourceCurrency: text(r.SourceCurrencyCode), DestinationAmount: r.DestinationAmount,
		DestinationCurrency: text(r.DestinationCurrencyCode), ExchangeRate: r.ExchangeRate, Fee: r.Fee,
		PickupCode: text(r.PickupCode)})
	if len(h.pending) >= historyCSVBatch {
		return h.flush()
	}
	return nil
}

func (h *historyCSV) flush() error {
	if len(h.pending) == 0 {
		return nil
	}
	err := gocsv.MarshalCSVWithoutHeaders(h.pending, h.w)
	h.pending = h.pending[:0]
	if err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

func (h *historyCSV) finish(io.Writer) error { return h.flush() }

type historyXLSX struct {
	f    *excelize.File
	sw   *excelize.StreamWriter
	next int
}

func newHistoryXLSX() (*historyXLSX, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", SheetHistory); err != nil {
		return nil, fmt.Errorf("create history workbook: %w", err)
	}
	sw, err := f.NewStreamWriter(SheetHistory)
	if err != nil {
		return nil, fmt.Errorf("create history workbook: %w", err)
	}
	return &historyXLSX{f: f, sw: sw, next: 1}, nil
}

func (h *historyXLSX) put(vals []any) error {
	cell, _ := excelize.CoordinatesToCellName(1, h.next)
	h.next++
	if err := h.sw.SetRow(cell, vals); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

func (h *historyXLSX) header(cols []string) error {
	vals := make([]any, len(cols))
	for i, c := range cols {
		vals[i] = c
	}
	return h.put(vals)
}

func (h *historyXLSX) row(r *masspay.TxnHistory) error {
	// Amounts go in as numbers, like the results workbook's, so the books
	// can sum them; the exact decimal is in the CSV export.
	var rate any
	if r.ExchangeRate != nil {
		rate = r.ExchangeRate.InexactFloat64()
	}
	return h.put([]any{results.InertText(r.TimeOfTxn), results.InertText(r.Type), results.InertText(r.Token), results.InertText(r.ClientTransferID),
		results.InertText(r.UserToken), results.InertText(r.Status), results.InertText(r.StatusReason),
		r.SourceAmount.InexactFloat64(), results.InertText(r.SourceCurrencyCode), r.DestinationAmount.InexactFloat64(),
		results.InertText(r.DestinationCurrencyCode), rate, r.Fee.InexactFloat64(), results.InertText(r.PickupCode)})
}

func (h *historyXLSX) finish(w io.Writer) error {
	defer h.f.Close()
	if err := h.sw.Flush(); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	if _, err := h.f.WriteTo(w); err != nil {
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}
