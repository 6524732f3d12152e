package ledger

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"time"

	"github.com/gocarina/gocsv"
	"github.com/shopspring/decimal"
)

// Table names a ledger table for export.
type Table string

// Exportable tables.
const (
	TableRuns      Table = "runs"
	TableRows      Table = "rows"
	TableRunRows   Table = "run_rows" // which runs' sheets held which rows
	TableConflicts Table = "conflicts"
	TableEvents    Table = "events"
)

// Tables lists every exportable table, in export order.
var Tables = []Table{TableRuns, TableRows, TableRunRows, TableConflicts, TableEvents}

// ExportCSV writes table t as CSV with a header line. Column names are the
// ledger's column names; money stays decimal text; times are RFC 3339 UTC;
// the input column holds the sheet row as JSON [[header, value], ...].
func (l *Ledger) ExportCSV(ctx context.Context, w io.Writer, t Table) error {
	spec, err := l.exportSpec(t)
	if err != nil {
		return err
	}
	if err := spec.writeCSV(ctx, gocsv.NewSafeCSVWriter(csv.NewWriter(w))); err != nil {
		return fmt.Errorf("export %s: %w", t, err)
	}
	return nil
}

// ExportJSONL writes the given tables (all of Tables when none are given) as
// JSON lines, one object per record with its columns in ledger order and a
// leading "table" member. Every value is a JSON string except input and
// data, which are embedded as the JSON they are.
func (l *Ledger) ExportJSONL(ctx context.Context, w io.Writer, tables ...Table) error {
	if len(tables) == 0 {
		tables = Tables
	}
	bw := bufio.NewWriter(w)
	for _, t := range tables {
		spec, err := l.exportSpec(t)
		if err != nil {
			return err
		}
		tname, _ := json.Marshal(string(t))
		err = spec.each(ctx, func(rec reflect.Value) error {
			bw.WriteString(`{"table":`)
			bw.Write(tname)
			for i := range rec.NumField() {
				k, _ := json.Marshal(spec.header[i])
				bw.WriteByte(',')
				bw.Write(k)
				bw.WriteByte(':')
				switch v := rec.Field(i).Interface().(type) {
				case rawJSONText:
					if len(v) == 0 {
						bw.WriteString("null")
					} else {
						bw.Write(v)
					}
				default:
					b, err := json.Marshal(v)
					if err != nil {
						return err
					}
					bw.Write(b)
				}
			}
			bw.WriteString("}\n")
			return nil
		})
		if err != nil {
			return fmt.Errorf("export %s: %w", t, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

// Each table's export is a record struct whose csv tags are the ledger's
// column names, in ledger order: gocsv writes the CSV from them, and the
// JSON lines take the same fields in the same order, so both forms always
// carry the same columns. Every field is text (string) or JSON kept as it
// is (rawJSONText), so money is never a float on the way out.

// rawJSONText is a column that holds JSON: written to CSV as its text and
// embedded unquoted in a JSON line (null when empty).
type rawJSONText []byte

// MarshalCSV writes the JSON as it is.
func (r rawJSONText) MarshalCSV() (string, error) { return string(r), nil }

// exportCSVBatch is how many records are handed to gocsv at a time: it
// flushes after each call, and a table may have millions of rows.
const exportCSVBatch = 256

type exportSpec struct {
	header   []string
	each     func(ctx context.Context, emit func(rec reflect.Value) error) error
	writeCSV func(ctx context.Context, cw *gocsv.SafeCSVWriter) error
}

// specOf is the export of a table read by each as records of type R.
func specOf[R any](each func(ctx context.Context, emit func(*R) error) error) exportSpec {
	rt := reflect.TypeFor[R]()
	header := make([]string, rt.NumField())
	for i := range header {
		header[i] = rt.Field(i).Tag.Get("csv")
	}
	return exportSpec{
		header: header,
		each: func(ctx context.Context, emit func(reflect.Value) error) error {
			return each(ctx, func(r *R) error { return emit(reflect.ValueOf(r).Elem()) })
		},
		writeCSV: func(ctx context.Context, cw *gocsv.SafeCSVWriter) error {
			batch := make([]R, 0, exportCSVBatch)
			if err := gocsv.MarshalCSV(batch, cw); err != nil { // the header
				return err
			}
			err := each(ctx, func(r *R) error {
				if batch = append(batch, *r); len(batch) < exportCSVBatch {
					return nil
				}
				err := gocsv.MarshalCSVWithoutHeaders(batch, cw)
				batch = batch[:0]
				return err
			})
			if err != nil {
				return err
			}
			if len(batch) > 0 {
				return gocsv.MarshalCSVWithoutHeaders(batch, cw)
			}
			return nil
		},
	}
}

func (l *Ledger) exportSpec(t Table) (exportSpec, error) {
	switch t {
	case TableRuns:
		return specOf(func(ctx context.Context, emit func(*runRecord) error) error {
			runs, err := l.Runs(ctx)
			if err != nil {
				return err
			}
			for _, r := range runs {
				before, _ := marshalBalances(r.BalancesBefore)
				after, _ := marshalBalances(r.BalancesAfter)
				if err := emit(&runRecord{
					ID: i64(r.ID), SheetName: r.SheetName, SheetSHA256: r.SheetSHA256,
					StartedAt: tstr(r.StartedAt), FinishedAt: tstr(r.FinishedAt), Operator: r.Operator,
					Environment: r.Environment, RowCount: strconv.Itoa(r.RowCount),
					BalancesBefore: rawJSON(before), BalancesAfter: rawJSON(after), Status: string(r.Status),
				}); err != nil {
					return err
				}
			}
			return nil
		}), nil
	case TableRows:
		return specOf(func(ctx context.Context, emit func(*rowRecord) error) error {
			for r, err := range l.Rows(ctx, RowFilter{}) {
				if err != nil {
					return err
				}
				input, _ := json.Marshal(r.Input)
				if err := emit(&rowRecord{
					ClientTransferID: r.ID, FirstRunID: i64(r.FirstRunID), LastRunID: i64(r.LastRunID),
					SheetLine: strconv.Itoa(r.Line), Fingerprint: r.Fingerprint, Input: input,
					Method: r.Method, InternalUserID: r.InternalUserID, Amount: decString(r.Amount),
					SourceCurrency: r.SourceCurrency, DestinationCurrency: r.DestinationCurrency,
					AmountIs: r.AmountIs, State: string(r.State), QuoteSeq: strconv.Itoa(r.QuoteSeq),
					UserToken: r.UserToken, DestinationToken: r.DestinationToken,
					AttrSetToken: r.AttrSetToken, PayoutToken: r.PayoutToken, LoadToken: r.LoadToken,
					WalletToken: r.WalletToken, Fee: nd(r.Fee), ExchangeRate: nd(r.ExchangeRate),
					SourceAmount: nd(r.SourceAmount), DestinationAmount: nd(r.DestinationAmount),
					PickupCode: r.PickupCode, PayerName: r.PayerName, DeliveryType: r.DeliveryType,
					CountryCode: r.CountryCode, EstimatedAvailability: r.EstimatedAvailability,
					MasspayStatus: r.MasspayStatus, StatusChangedAt: tstr(r.StatusChangedAt),
					KYCUploadLink: r.KYCUploadLink, ActionNeeded: r.ActionNeeded, LastError: r.LastError,
					Attempts: strconv.Itoa(r.Attempts), CreatedAt: tstr(r.CreatedAt),
					UpdatedAt: tstr(r.UpdatedAt), LaterStatus: r.LaterStatus,
					LaterStatusAt: tstr(r.LaterStatusAt), QuoteStartedAt: tstr(r.QuoteStartedAt),
					InternalError: r.InternalError,
				}); err != nil {
					return err
				}
			}
			return nil
		}), nil
	case TableRunRows:
		return specOf(l.eachRunRow), nil
	case TableConflicts:
		return specOf(func(ctx context.Context, emit func(*conflictRecord) error) error {
			for c, err := range l.Conflicts(ctx, 0) {
				if err != nil {
					return err
				}
				input, _ := json.Marshal(c.Input)
				if err := emit(&conflictRecord{
					RunID: i64(c.RunID), ClientTransferID: c.ID, SheetLine: strconv.Itoa(c.Line),
					Fingerprint: c.Fingerprint, ExistingFingerprint: c.ExistingFingerprint,
					ExistingState: string(c.ExistingState), ExistingRunID: i64(c.ExistingRunID),
					Input: input, Method: c.Method, InternalUserID: c.InternalUserID,
					Amount: decString(c.Amount), SourceCurrency: c.SourceCurrency,
					DestinationCurrency: c.DestinationCurrency, AmountIs: c.AmountIs,
					RecordedAt: tstr(c.RecordedAt),
				}); err != nil {
					return err
				}
			}
			return nil
		}), nil
	case TableEvents:
		return specOf(func(ctx context.Context, emit func(*eventRecord) error) error {
			for e, err := range l.Events(ctx, EventFilter{}) {
				if err != nil {
					return err
				}
				run, status := "", ""
				if e.RunID != 0 {
					run = i64(e.RunID)
				}
				if e.HTTPStatus != 0 {
					status = strconv.Itoa(e.HTTPStatus)
				}
				if err := emit(&eventRecord{
					ID: i64(e.Seq), At: tstr(e.At), RunID: run, ClientTransferID: e.TransferID,
					Kind: string(e.Kind), FromState: string(e.From), ToState: string(e.To),
					IdempotencyKey: e.IdempotencyKey, HTTPStatus: status, MasspayStatus: e.MasspayStatus,
					Message: e.Message, Data: rawJSONText(e.Data),
				}); err != nil {
					return err
				}
			}
			return nil
		}), nil
	}
	return exportSpec{}, fmt.Errorf("export: unknown table %q", t)
}

// eachRunRow emits run_rows in run, then sheet, order, a page per read
// transaction like Rows.
func (l *Ledger) eachRunRow(ctx context.Context, emit func(*runRowRecord) error) error {
	var (
		run   int64
		line  int
		id    string
		first = true
	)
	for {
		rs, err := l.rq(ctx, `SELECT run_id, client_transfer_id, sheet_line FROM run_rows
			WHERE ? OR (run_id, sheet_line, client_transfer_id) > (?, ?, ?)
			ORDER BY run_id, sheet_line, client_transfer_id LIMIT ?`, first, run, line, id, pageSize)
		if err != nil {
			return fmt.Errorf("read run rows: %w", err)
		}
		var page []runRowRecord
		for rs.Next() {
			if err := rs.Scan(&run, &id, &line); err != nil {
				rs.Close()
				return fmt.Errorf("read run rows: %w", err)
			}
			page = append(page, runRowRecord{RunID: i64(run), ClientTransferID: id, SheetLine: strconv.Itoa(line)})
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return fmt.Errorf("read run rows: %w", err)
		}
		for i := range page {
			if err := emit(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		first = false
	}
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

func tstr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

func nd(d decimal.NullDecimal) string {
	if !d.Valid {
		return ""
	}
	return decString(d.Decimal)
}

// rawJSON turns marshalBalances' result (nil or string) into raw JSON.
func rawJSON(v any) rawJSONText {
	if s, ok := v.(string); ok {
		return rawJSONText(s)
	}
	return nil
}

// runRecord is one line of the runs table export.
type runRecord struct {
	ID             string      `csv:"id"`
	SheetName      string      `csv:"sheet_name"`
	SheetSHA256    string      `csv:"sheet_sha256"`
	StartedAt      string      `csv:"started_at"`
	FinishedAt     string      `csv:"finished_at"`
	Operator       string      `csv:"operator"`
	Environment    string      `csv:"environment"`
	RowCount       string      `csv:"row_count"`
	BalancesBefore rawJSONText `csv:"balances_before"`
	BalancesAfter  rawJSONText `csv:"balances_after"`
	Status         string      `csv:"status"`
}

// rowRecord is one line of the rows table export.
type rowRecord struct {
	ClientTransferID      string      `csv:"client_transfer_id"`
	FirstRunID            string      `csv:"first_run_id"`
	LastRunID             string      `csv:"last_run_id"`
	SheetLine             string      `csv:"sheet_line"`
	Fingerprint           string      `csv:"fingerprint"`
	Input                 rawJSONText `csv:"input"`
	Method                string      `csv:"method"`
	InternalUserID        string      `csv:"internal_user_id"`
	Amount                string      `csv:"amount"`
	SourceCurrency        string      `csv:"source_currency"`
	DestinationCurrency   string      `csv:"destination_currency"`
	AmountIs              string      `csv:"amount_is"`
	State                 string      `csv:"state"`
	QuoteSeq              string      `csv:"quote_seq"`
	UserToken             string      `csv:"user_token"`
	DestinationToken      string      `csv:"destination_token"`
	AttrSetToken          string      `csv:"attr_set_token"`
	PayoutToken           string      `csv:"payout_token"`
	LoadToken             string      `csv:"load_token"`
	WalletToken           string      `csv:"wallet_token"`
	Fee                   string      `csv:"fee"`
	ExchangeRate          string      `csv:"exchange_rate"`
	SourceAmount          string      `csv:"source_amount"`
	DestinationAmount     string      `csv:"destination_amount"`
	PickupCode            string      `csv:"pickup_code"`
	PayerName             string      `csv:"payer_name"`
	DeliveryType          string      `csv:"delivery_type"`
	CountryCode           string      `csv:"country_code"`
	EstimatedAvailability string      `csv:"estimated_availability"`
	MasspayStatus         string      `csv:"masspay_status"`
	StatusChangedAt       string      `csv:"status_changed_at"`
	KYCUploadLink         string      `csv:"kyc_upload_link"`
	ActionNeeded          string      `csv:"action_needed"`
	LastError             string      `csv:"last_error"`
	Attempts              string      `csv:"attempts"`
	CreatedAt             string      `csv:"created_at"`
	UpdatedAt             string      `csv:"updated_at"`
	LaterStatus           string      `csv:"later_status"`
	LaterStatusAt         string      `csv:"later_status_at"`
	QuoteStartedAt        string      `csv:"quote_started_at"`
	InternalError         string      `csv:"internal_error"`
}

// runRowRecord is one line of the run_rows table export.
type runRowRecord struct {
	RunID            string `csv:"run_id"`
	ClientTransferID string `csv:"client_transfer_id"`
	SheetLine        string `csv:"sheet_line"`
}

// conflictRecord is one line of the conflicts table export.
type conflictRecord struct {
	RunID               string      `csv:"run_id"`
	ClientTransferID    string      `csv:"client_transfer_id"`
	SheetLine           string      `csv:"sheet_line"`
	Fingerprint         string      `csv:"fingerprint"`
	ExistingFingerprint string      `csv:"existing_fingerprint"`
	ExistingState       string      `csv:"existing_state"`
	ExistingRunID       string      `csv:"existing_run_id"`
	Input               rawJSONText `csv:"input"`
	Method              string      `csv:"method"`
	InternalUserID      string      `csv:"internal_user_id"`
	Amount              string      `csv:"amount"`
	SourceCurrency      string      `csv:"source_currency"`
	DestinationCurrency string      `csv:"destination_currency"`
	AmountIs            string      `csv:"amount_is"`
	RecordedAt          string      `csv:"recorded_at"`
}

// eventRecord is one line of the events table export.
type eventRecord struct {
	ID               string      `csv:"id"`
	At               string      `csv:"at"`
	RunID            string      `csv:"run_id"`
	ClientTransferID string      `csv:"client_transfer_id"`
	Kind             string      `csv:"kind"`
	FromState        string      `csv:"from_state"`
	ToState          string      `csv:"to_state"`
	IdempotencyKey   string      `csv:"idempotency_key"`
	HTTPStatus       string      `csv:"http_status"`
	MasspayStatus    string      `csv:"masspay_status"`
	Message          string      `csv:"message"`
	Data             rawJSONText `csv:"data"`
}
