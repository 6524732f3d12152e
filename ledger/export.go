package ledger

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

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
	cw := csv.NewWriter(w)
	if err := cw.Write(spec.header); err != nil {
		return fmt.Errorf("export %s: %w", t, err)
	}
	rec := make([]string, len(spec.header))
	err = spec.each(ctx, func(vals []any) error {
		for i, v := range vals {
			switch v := v.(type) {
			case string:
				rec[i] = v
			case json.RawMessage:
				rec[i] = string(v)
			}
		}
		return cw.Write(rec)
	})
	if err != nil {
		return fmt.Errorf("export %s: %w", t, err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
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
		err = spec.each(ctx, func(vals []any) error {
			bw.WriteString(`{"table":`)
			bw.Write(tname)
			for i, v := range vals {
				k, _ := json.Marshal(spec.header[i])
				bw.WriteByte(',')
				bw.Write(k)
				bw.WriteByte(':')
				switch v := v.(type) {
				case json.RawMessage:
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

type exportSpec struct {
	header []string
	each   func(ctx context.Context, emit func([]any) error) error
}

func (l *Ledger) exportSpec(t Table) (exportSpec, error) {
	switch t {
	case TableRuns:
		return exportSpec{
			header: []string{"id", "sheet_name", "sheet_sha256", "started_at", "finished_at", "operator",
				"environment", "row_count", "balances_before", "balances_after", "status"},
			each: func(ctx context.Context, emit func([]any) error) error {
				runs, err := l.Runs(ctx)
				if err != nil {
					return err
				}
				for _, r := range runs {
					before, _ := marshalBalances(r.BalancesBefore)
					after, _ := marshalBalances(r.BalancesAfter)
					if err := emit([]any{i64(r.ID), r.SheetName, r.SheetSHA256, tstr(r.StartedAt), tstr(r.FinishedAt),
						r.Operator, r.Environment, strconv.Itoa(r.RowCount), rawJSON(before), rawJSON(after),
						string(r.Status)}); err != nil {
						return err
					}
				}
				return nil
			},
		}, nil
	case TableRows:
		return exportSpec{
			header: []string{"client_transfer_id", "first_run_id", "last_run_id", "sheet_line", "fingerprint",
				"input", "method", "internal_user_id", "amount", "source_currency", "destination_currency",
				"amount_is", "state", "quote_seq", "user_token", "destination_token", "attr_set_token",
				"payout_token", "load_token", "wallet_token", "fee", "exchange_rate", "source_amount",
				"destination_amount", "pickup_code", "payer_name", "delivery_type", "country_code",
				"estimated_availability", "masspay_status", "status_changed_at", "kyc_upload_link",
				"action_needed", "last_error", "attempts", "created_at", "updated_at",
				"later_status", "later_status_at", "quote_started_at", "internal_error"},
			each: func(ctx context.Context, emit func([]any) error) error {
				for r, err := range l.Rows(ctx, RowFilter{}) {
					if err != nil {
						return err
					}
					input, _ := json.Marshal(r.Input)
					if err := emit([]any{r.ID, i64(r.FirstRunID), i64(r.LastRunID), strconv.Itoa(r.Line),
						r.Fingerprint, json.RawMessage(input), r.Method, r.InternalUserID, decString(r.Amount),
						r.SourceCurrency, r.DestinationCurrency, r.AmountIs, string(r.State),
						strconv.Itoa(r.QuoteSeq), r.UserToken, r.DestinationToken, r.AttrSetToken, r.PayoutToken,
						r.LoadToken, r.WalletToken, nd(r.Fee), nd(r.ExchangeRate), nd(r.SourceAmount),
						nd(r.DestinationAmount), r.PickupCode, r.PayerName, r.DeliveryType, r.CountryCode,
						r.EstimatedAvailability, r.MasspayStatus, tstr(r.StatusChangedAt), r.KYCUploadLink,
						r.ActionNeeded, r.LastError, strconv.Itoa(r.Attempts), tstr(r.CreatedAt),
						tstr(r.UpdatedAt), r.LaterStatus, tstr(r.LaterStatusAt), tstr(r.QuoteStartedAt),
						r.InternalError}); err != nil {
						return err
					}
				}
				return nil
			},
		}, nil
	case TableRunRows:
		return exportSpec{
			header: []string{"run_id", "client_transfer_id", "sheet_line"},
			each:   l.eachRunRow,
		}, nil
	case TableConflicts:
		return exportSpec{
			header: []string{"run_id", "client_transfer_id", "sheet_line", "fingerprint", "existing_fingerprint",
				"existing_state", "existing_run_id", "input", "method", "internal_user_id", "amount",
				"source_currency", "destination_currency", "amount_is", "recorded_at"},
			each: func(ctx context.Context, emit func([]any) error) error {
				for c, err := range l.Conflicts(ctx, 0) {
					if err != nil {
						return err
					}
					input, _ := json.Marshal(c.Input)
					if err := emit([]any{i64(c.RunID), c.ID, strconv.Itoa(c.Line), c.Fingerprint,
						c.ExistingFingerprint, string(c.ExistingState), i64(c.ExistingRunID),
						json.RawMessage(input), c.Method, c.InternalUserID, decString(c.Amount), c.SourceCurrency,
						c.DestinationCurrency, c.AmountIs, tstr(c.RecordedAt)}); err != nil {
						return err
					}
				}
				return nil
			},
		}, nil
	case TableEvents:
		return exportSpec{
			header: []string{"id", "at", "run_id", "client_transfer_id", "kind", "from_state", "to_state",
				"idempotency_key", "http_status", "masspay_status", "message", "data"},
			each: func(ctx context.Context, emit func([]any) error) error {
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
					if err := emit([]any{i64(e.Seq), tstr(e.At), run, e.TransferID, string(e.Kind),
						string(e.From), string(e.To), e.IdempotencyKey, status, e.MasspayStatus, e.Message,
						e.Data}); err != nil {
						return err
					}
				}
				return nil
			},
		}, nil
	}
	return exportSpec{}, fmt.Errorf("export: unknown table %q", t)
}

// eachRunRow emits run_rows in run, then sheet, order, a page per read
// transaction like Rows.
func (l *Ledger) eachRunRow(ctx context.Context, emit func([]any) error) error {
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
		var page [][]any
		for rs.Next() {
			if err := rs.Scan(&run, &id, &line); err != nil {
				rs.Close()
				return fmt.Errorf("read run rows: %w", err)
			}
			page = append(page, []any{i64(run), id, strconv.Itoa(line)})
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return fmt.Errorf("read run rows: %w", err)
		}
		for _, rec := range page {
			if err := emit(rec); err != nil {
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
func rawJSON(v any) json.RawMessage {
	if s, ok := v.(string); ok {
		return json.RawMessage(s)
	}
	return nil
}
