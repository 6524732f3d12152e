package results

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

// WriteResults writes the results of run runID, read from the ledger l, to
// path: an XLSX workbook, or with opts.Format csv a results CSV and its
// summary CSV. Everything comes from the ledger, streamed in sheet order, so
// it works after a crash, for any past run, and for a million rows. The
// runner calls it at the end of every run, interrupted ones included.
func WriteResults(ctx context.Context, l *ledger.Ledger, runID int64, path string, opts ResultsOptions) (ResultsSummary, error) {
	return WriteResultsFrom(ctx, &ledgerResults{l: l, runID: runID}, path, opts)
}

// ledgerResults is the ResultsSource of one run of a ledger.
type ledgerResults struct {
	l     *ledger.Ledger
	runID int64
}

func (s *ledgerResults) ResultsRun(ctx context.Context) (ResultsRun, error) {
	run, err := s.l.Run(ctx, s.runID)
	if err != nil {
		return ResultsRun{}, err
	}
	status := string(run.Status)
	if run.Status == ledger.RunRunning {
		status = "not finished (running, or cut off)"
	}
	return ResultsRun{
		ID:             run.ID,
		SheetName:      run.SheetName,
		SheetSHA256:    run.SheetSHA256,
		StartedAt:      run.StartedAt,
		FinishedAt:     run.FinishedAt,
		Status:         status,
		Operator:       run.Operator,
		Environment:    run.Environment,
		BalancesBefore: balancesOf(run.BalancesBefore),
		BalancesAfter:  balancesOf(run.BalancesAfter),
	}, nil
}

// ResultRows yields the run's rows merged, by sheet line, with the sheet rows
// the ledger recorded as conflicts: those are rows of the sheet too, shown
// as CONFLICT where the sheet had them.
func (s *ledgerResults) ResultRows(ctx context.Context, fn func(*ResultRow) error) error {
	next, stop := iter.Pull2(s.l.Conflicts(ctx, s.runID))
	defer stop()
	c, cerr, more := next()
	var out ResultRow
	flushConflictsBefore := func(line int, all bool) error {
		for more {
			if cerr != nil {
				return fmt.Errorf("read conflicts: %w", cerr)
			}
			if !all && c.Line >= line {
				return nil
			}
			if err := s.conflictRow(ctx, &c, &out); err != nil {
				return err
			}
			if err := fn(&out); err != nil {
				return err
			}
			c, cerr, more = next()
		}
		return nil
	}
	for row, err := range s.l.Rows(ctx, ledger.RowFilter{RunID: s.runID}) {
		if err != nil {
			return fmt.Errorf("read rows: %w", err)
		}
		if err := flushConflictsBefore(row.Line, false); err != nil {
			return err
		}
		fillResultRow(&out, &row)
		if row.State == ledger.StateNeedsAction && row.KYCUploadLink != "" {
			if out.KYCNotice, err = kycNotice(ctx, s.l, row.ID); err != nil {
				return err
			}
		}
		if err := fn(&out); err != nil {
			return err
		}
	}
	return flushConflictsBefore(0, true)
}

// conflictRow lays a conflict out as a CONFLICT result row.
func (s *ledgerResults) conflictRow(ctx context.Context, c *ledger.Conflict, out *ResultRow) error {
	*out = ResultRow{
		SheetLine:           c.Line,
		ClientTransferID:    c.ID,
		Input:               columnsOf(out.Input[:0], c.Input),
		Method:              c.Method,
		Amount:              c.Amount,
		AmountIs:            c.AmountIs,
		SourceCurrency:      c.SourceCurrency,
		DestinationCurrency: c.DestinationCurrency,
		State:               string(ledger.StateConflict),
		UpdatedAt:           c.RecordedAt,
	}
	msg := fmt.Sprintf("client_transfer_id %s is already in the ledger from run %d (state %s) with different content; not sent",
		c.ID, c.ExistingRunID, c.ExistingState)
	if fields, err := s.conflictFields(ctx, c); err == nil && len(fields) > 0 {
		var diffs []string
		for _, f := range fields {
			diffs = append(diffs, fmt.Sprintf("%s %q in this sheet, %q in the ledger", f.Field, f.Sheet, f.Ledger))
		}
		msg += ": " + strings.Join(diffs, "; ")
	}
	out.LastError = msg
	return nil
}

func (s *ledgerResults) ResultConflicts(ctx context.Context, fn func(*ConflictRow) error) error {
	for c, err := range s.l.Conflicts(ctx, s.runID) {
		if err != nil {
			return fmt.Errorf("read conflicts: %w", err)
		}
		fields, err := s.conflictFields(ctx, &c)
		if err != nil {
			return err
		}
		if err := fn(&ConflictRow{SheetLine: c.Line, ClientTransferID: c.ID, FirstRunID: c.ExistingRunID, Fields: fields}); err != nil {
			return err
		}
	}
	return nil
}

// conflictFields lists what the conflicting sheet row changes against the
// row the ledger holds: the payment's fields, then every differing column.
func (s *ledgerResults) conflictFields(ctx context.Context, c *ledger.Conflict) ([]ConflictField, error) {
	had, err := s.l.Row(ctx, c.ID)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read conflicting row %s: %w", c.ID, err)
	}
	var out []ConflictField
	diff := func(field, sheetName, led string) {
		if sheetName != led {
			out = append(out, ConflictField{Field: field, Sheet: sheetName, Ledger: led})
		}
	}
	diff("method", c.Method, had.Method)
	diff("internal_user_id", c.InternalUserID, had.InternalUserID)
	if !c.Amount.Equal(had.Amount) {
		out = append(out, ConflictField{Field: "amount", Sheet: c.Amount.String(), Ledger: had.Amount.String()})
	}
	diff("source_currency", c.SourceCurrency, had.SourceCurrency)
	diff("destination_currency", c.DestinationCurrency, had.DestinationCurrency)
	diff("amount_is", c.AmountIs, had.AmountIs)
	typed := map[string]bool{"method": true, "internaluserid": true, "amount": true, "sourcecurrency": true,
		"destinationcurrency": true, "amountis": true, "clienttransferid": true}
	ledgerCols := map[string]string{}
	for _, col := range had.Input {
		ledgerCols[resFoldHeader(col.Header)] = col.Value
	}
	seen := map[string]bool{}
	for _, col := range c.Input {
		k := resFoldHeader(col.Header)
		seen[k] = true
		if typed[k] {
			continue
		}
		if v := ledgerCols[k]; strings.TrimSpace(v) != strings.TrimSpace(col.Value) {
			out = append(out, ConflictField{Field: col.Header, Sheet: col.Value, Ledger: v})
		}
	}
	for _, col := range had.Input {
		if k := resFoldHeader(col.Header); !seen[k] && !typed[k] && col.Value != "" {
			out = append(out, ConflictField{Field: col.Header, Sheet: "", Ledger: col.Value})
		}
	}
	return out, nil
}

// fillResultRow copies a ledger row into out, reusing out's input slice.
func fillResultRow(out *ResultRow, r *ledger.Row) {
	*out = ResultRow{
		SheetLine:             r.Line,
		ClientTransferID:      r.ID,
		Input:                 columnsOf(out.Input[:0], r.Input),
		Method:                r.Method,
		Amount:                r.Amount,
		AmountIs:              r.AmountIs,
		SourceCurrency:        r.SourceCurrency,
		DestinationCurrency:   r.DestinationCurrency,
		State:                 string(r.State),
		ActionNeeded:          r.ActionNeeded,
		KYCUploadLink:         r.KYCUploadLink,
		MassPayStatus:         r.Status(),
		StatusChangedAt:       r.LaterStatusAt,
		PayoutToken:           r.PayoutToken,
		LoadToken:             r.LoadToken,
		Fee:                   r.Fee,
		ExchangeRate:          r.ExchangeRate,
		SourceAmount:          r.SourceAmount,
		DestinationAmount:     r.DestinationAmount,
		PickupCode:            r.PickupCode,
		PayerName:             r.PayerName,
		DeliveryType:          r.DeliveryType,
		EstimatedAvailability: r.EstimatedAvailability,
		LastError:             r.LastError,
		Attempts:              r.Attempts,
		UpdatedAt:             r.UpdatedAt,
		SettledRunID:          r.SettledRunID,
	}
}

func columnsOf(dst []sheet.InputField, cols []ledger.Column) []sheet.InputField {
	for _, c := range cols {
		dst = append(dst, sheet.InputField{Header: c.Header, Value: c.Value, Format: c.Format})
	}
	return dst
}

func balancesOf(b ledger.Balances) []CurrencyAmount {
	out := make([]CurrencyAmount, 0, len(b))
	for cur, amt := range b {
		out = append(out, CurrencyAmount{Currency: cur, Amount: amt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}

// SummarizeRun computes run runID's Summary figures from the ledger without
// writing a file: counts, and per currency what the run itself paid apart
// from what other runs settled (status, the console's runs page).
func SummarizeRun(ctx context.Context, l *ledger.Ledger, runID int64) (ResultsSummary, error) {
	src := &ledgerResults{l: l, runID: runID}
	b := newSummaryBuilder(runID)
	if err := src.ResultRows(ctx, func(r *ResultRow) error { b.add(r); return nil }); err != nil {
		return ResultsSummary{}, fmt.Errorf("summarize run %d: %w", runID, err)
	}
	return b.summary(runID), nil
}

// kycNotice describes the KYC notices sent about row id, for the Needs
// action sheet: "link emailed to payee at 2026-03-31 12:00 UTC".
func kycNotice(ctx context.Context, l *ledger.Ledger, id string) (string, error) {
	recs, err := l.AlertsAbout(ctx, id)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, a := range recs {
		if a.Kind != "kyc" || a.State != ledger.AlertSent {
			continue
		}
		who := "payee"
		if strings.HasPrefix(a.Key, "kyc:compliance:") {
			who = "compliance (" + a.Recipients + ")"
		}
		parts = append(parts, fmt.Sprintf("link emailed to %s at %s", who, a.SentAt.UTC().Format("2006-01-02 15:04 UTC")))
	}
	return strings.Join(parts, "; "), nil
}
