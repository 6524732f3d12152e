package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"os/user"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/ledger"
)

// sheetFlags are the flags of commands that read a payout sheet.
type sheetFlags struct {
	sheetName string
	maxAmount string
	maxTotal  string
}

func (f *sheetFlags) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&f.sheetName, "sheet", "", "XLSX worksheet to read (default: the first one with data)")
	fs.StringVar(&f.maxAmount, "max-amount", "", "refuse the sheet if any row's amount exceeds this (in its source currency)")
	fs.StringVar(&f.maxTotal, "max-total", "", "refuse the sheet if one source currency's total exceeds this")
}

func (f sheetFlags) options() (batch.IngestOptions, batch.ValidateOptions, error) {
	var vo batch.ValidateOptions
	for _, x := range []struct {
		flag string
		val  string
		dst  **decimal.Decimal
	}{{"--max-amount", f.maxAmount, &vo.MaxAmount}, {"--max-total", f.maxTotal, &vo.MaxTotal}} {
		if x.val == "" {
			continue
		}
		d, err := decimal.NewFromString(x.val)
		if err != nil || !d.IsPositive() {
			return batch.IngestOptions{}, vo, &UsageError{Err: fmt.Errorf("%s %q is not a positive amount", x.flag, x.val), Hint: x.flag + " 50000"}
		}
		*x.dst = &d
	}
	return batch.IngestOptions{SheetName: f.sheetName}, vo, nil
}

// checkSheet validates the whole sheet and prints every mistake. It returns
// the report; the caller decides what a mistake means (plan and run refuse).
func (m *Main) checkSheet(path string, f sheetFlags) (*batch.Report, error) {
	io, vo, err := f.options()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, &UsageError{Err: fmt.Errorf("open sheet: %w", err), Hint: "payrun plan samples/monthly-freelancers.xlsx"}
	}
	rep, err := batch.ValidateFile(path, io, vo)
	if err != nil {
		return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("read sheet %s: %w", path, err)}
	}
	errs, warns := 0, 0
	for _, p := range rep.Problems {
		if p.Severity == batch.SeverityError {
			errs++
		} else {
			warns++
		}
		fmt.Fprintln(m.Stderr, p.String())
	}
	if errs > 0 {
		fmt.Fprintf(m.Stderr, "\n%s: %d rows, %d mistakes, %d warnings. Nothing was paid. Fix the cells named above and run again.\n", rep.Sheet, rep.Rows, errs, warns)
	}
	return rep, nil
}

// sheetRows streams the rows of a sheet.
func sheetRows(path string, io batch.IngestOptions) iter.Seq2[batch.Row, error] {
	return func(yield func(batch.Row, error) bool) {
		r, err := batch.Open(path, io)
		if err != nil {
			yield(batch.Row{}, err)
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

// fileSHA256 is the hex SHA-256 of a file: what a run and an approval record
// to name exactly which sheet was paid.
func fileSHA256(path string) (string, error) {
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

// operator names who ran a command: user@host.
func operator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// ingestSheet records the sheet's rows in run runID, in chunks. Rows with
// validation errors (only with --skip-invalid) go in as INVALID and are never
// sent. It returns the conflicts found.
func ingestSheet(ctx context.Context, l *ledger.Ledger, runID int64, path string, io batch.IngestOptions, problems map[int][]string) ([]ledger.Upserted, error) {
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
	for r, err := range sheetRows(path, io) {
		if err != nil {
			return nil, err
		}
		in := ledger.RowInput{
			ID: r.ClientTransferID, Line: r.Line, Fingerprint: r.Fingerprint(), Method: r.Method,
			InternalUserID: r.InternalUserID, Amount: r.Amount, SourceCurrency: r.SourceCurrency,
			DestinationCurrency: r.DestinationCurrency, AmountIs: r.AmountIs, CountryCode: r.Country,
			DeliveryType: r.DeliveryType, PayerName: r.PayerName, DestinationToken: r.DestinationToken,
		}
		for _, c := range r.Input {
			in.Input = append(in.Input, ledger.Column{Header: c.Header, Value: c.Value})
		}
		if msgs := problems[r.Line]; len(msgs) > 0 {
			in.Invalid = strings.Join(msgs, "; ")
		}
		if in.ID == "" {
			continue // an INVALID row needs an id to be recorded; it is in the printed problems
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

// errorsByLine groups a report's error-severity problems by sheet line.
func errorsByLine(rep *batch.Report) map[int][]string {
	out := map[int][]string{}
	for _, p := range rep.Problems {
		if p.Severity == batch.SeverityError && p.Line > 0 {
			out[p.Line] = append(out[p.Line], fmt.Sprintf("column %q: %s", p.Column, p.Message))
		}
	}
	return out
}

var errNoSheet = errors.New("no sheet given")
