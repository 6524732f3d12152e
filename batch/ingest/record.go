package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

// SheetRows streams the rows of the sheet at path; an error ends the stream.
func SheetRows(path string, opts IngestOptions) iter.Seq2[sheet.Row, error] {
	return func(yield func(sheet.Row, error) bool) {
		r, err := Open(path, opts)
		if err != nil {
			yield(sheet.Row{}, err)
			return
		}
		defer r.Close()
		for row, err := range r.All() {
			if !yield(row, err) || err != nil {
				return
			}
		}
	}
}

// FileSHA256 is the hex SHA-256 of a file: what runs and approvals record to
// name exactly which sheet was paid.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash sheet: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash sheet: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ledgerInput is the row as the ledger records it: the fields that define
// the payment, its fingerprint, and every cell for echoing in the results.
func ledgerInput(r sheet.Row) ledger.RowInput {
	in := ledger.RowInput{
		ID: r.ClientTransferID, Line: r.Line, Fingerprint: r.Fingerprint(), Method: r.Method,
		InternalUserID: r.InternalUserID, Amount: r.Amount, SourceCurrency: r.SourceCurrency,
		DestinationCurrency: r.DestinationCurrency, AmountIs: r.AmountIs, CountryCode: r.Country,
		DeliveryType: r.DeliveryType, PayerName: r.PayerName, DestinationToken: r.DestinationToken,
		Input: make([]ledger.Column, len(r.Input)),
	}
	for i, c := range r.Input {
		in.Input[i] = ledger.Column{Header: c.Header, Value: c.Value, Format: c.Format}
	}
	return in
}

// RecordSheet records the rows of the sheet at path in run runID, a few
// thousand per transaction. Rows listed in invalid (sheet line -> problems;
// only when the caller pays the valid rows of a sheet with mistakes) go in as
// INVALID and are never sent; a row without a client_transfer_id cannot be
// recorded and is left to the printed problems. It returns the rows that
// conflict with the ledger: reported, never paid.
func RecordSheet(ctx context.Context, l *ledger.Ledger, runID int64, path string, opts IngestOptions, invalid map[int][]string) ([]ledger.Upserted, error) {
	const chunk = 2000
	var conflicts []ledger.Upserted
	buf := make([]ledger.RowInput, 0, chunk)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		res, err := l.UpsertRows(ctx, runID, buf)
		if err != nil {
			return fmt.Errorf("record sheet rows: %w", err)
		}
		for _, u := range res.Rows {
			if u.Outcome == ledger.OutcomeConflict {
				conflicts = append(conflicts, u)
			}
		}
		buf = buf[:0]
		return nil
	}
	for r, err := range SheetRows(path, opts) {
		if err != nil {
			return nil, fmt.Errorf("read sheet: %w", err)
		}
		if r.ClientTransferID == "" {
			continue
		}
		in := ledgerInput(r)
		if msgs := invalid[r.Line]; len(msgs) > 0 {
			in.Invalid = strings.Join(msgs, "; ")
		}
		buf = append(buf, in)
		if len(buf) == chunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	return conflicts, flush()
}
