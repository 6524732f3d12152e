package reconcile

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

// Standing is how much of a sheet the ledger already holds as done, before
// a run of it starts: a sheet paid once and offered again must read as
// "nothing to pay", not as a second payment.
type Standing struct {
	Rows int
	// Settled counts the sheet's rows the ledger holds as PAID, LOADED or
	// SCHEDULED with the same content; Paid sums what they sent per source
	// currency, and Runs lists the runs that settled them.
	Settled int
	Paid    map[string]decimal.Decimal
	Runs    []int64
	// Closed counts rows a run would not pay either: FAILED with the same
	// content, or a known id with other content (a CONFLICT).
	Closed int
}

// Left is how many rows a run of the sheet would still work on.
func (s Standing) Left() int { return s.Rows - s.Settled - s.Closed }

// NothingLeft reports a sheet every row of which was settled before.
func (s Standing) NothingLeft() bool { return s.Rows > 0 && s.Settled == s.Rows }

// Text is "already paid earlier: 2 rows, 350.50 USD, in run 1", or "".
func (s Standing) Text() string {
	totals := make([]results.CurrencyTotal, 0, len(s.Paid))
	for cur, amt := range s.Paid {
		totals = append(totals, results.CurrencyTotal{Currency: cur, PaidEarlier: amt})
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i].Currency < totals[j].Currency })
	return results.SettledText("already paid earlier", s.Settled, totals, func(t results.CurrencyTotal) decimal.Decimal { return t.PaidEarlier }, s.Runs)
}

// SheetStanding reads where each of the sheet's rows stands in the ledger
// (one lookup per row; it writes nothing).
func SheetStanding(ctx context.Context, l *ledger.Ledger, rows iter.Seq2[sheet.Row, error]) (Standing, error) {
	st := Standing{Paid: map[string]decimal.Decimal{}}
	runs := map[int64]bool{}
	for r, err := range rows {
		if err != nil {
			return Standing{}, fmt.Errorf("read sheet: %w", err)
		}
		st.Rows++
		had, err := l.Row(ctx, r.ClientTransferID)
		if errors.Is(err, ledger.ErrNotFound) {
			continue
		}
		if err != nil {
			return Standing{}, fmt.Errorf("read ledger: %w", err)
		}
		same := had.Fingerprint == r.Fingerprint()
		switch {
		case same && results.ResultOf(string(had.State)).Settled():
			st.Settled++
			amt := had.Amount
			if had.SourceAmount.Valid {
				amt = had.SourceAmount.Decimal
			}
			st.Paid[had.SourceCurrency] = st.Paid[had.SourceCurrency].Add(amt)
			run, err := l.SettledRun(ctx, had.ID)
			if err != nil {
				return Standing{}, err
			}
			if run != 0 {
				runs[run] = true
			}
		case same && had.State == ledger.StateFailed:
			st.Closed++
		case !same && had.State != ledger.StateNeedsAction && had.State != ledger.StateInvalid:
			st.Closed++
		}
	}
	st.Runs = results.SortedRuns(runs)
	return st, nil
}
