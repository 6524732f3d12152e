package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// flipData is the JSON detail of an EventFlip event.
type flipData struct {
	Token string `json:"token"`
	Was   string `json:"was"`
	Now   string `json:"now"`
	// NowAt is when the row took the Now status; with Was and Now it is the
	// flip's identity, which keeps a flip learnt twice from being recorded
	// twice.
	NowAt  time.Time `json:"now_at"`
	Source string    `json:"source"`
}

// SettledPaid reports whether status means the money reached the payee
// (exports.DownloadConfirmations fetches the confirmations of those only).
func SettledPaid(s string) bool {
	return s == masspay.StatusCompleted || s == masspay.StatusReadyForPickup
}

// isFlip reports whether a move from was to now is a flip: paid then
// cancelled, or cancelled then paid.
func isFlip(was, now string) bool {
	return (SettledPaid(was) && now == masspay.StatusCancelled) ||
		(was == masspay.StatusCancelled && now == masspay.StatusCompleted)
}

// statusRank orders statuses along a payment's life, for polls only.
func statusRank(s string) int {
	switch s {
	case "", masspay.StatusScheduled:
		return 0
	case masspay.StatusPending, masspay.StatusHold:
		return 1
	case masspay.StatusProcessing:
		return 2
	case masspay.StatusReadyForPickup:
		return 3
	case masspay.StatusCompleted, masspay.StatusCancelled, masspay.StatusError:
		return 4
	}
	return 1
}

func orDashStatus(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// flipFromEvent builds the results' Flip of one EventFlip event.
func flipFromEvent(row ledger.Row, ev ledger.Event, d flipData) results.Flip {
	amt := row.SourceAmount
	if !amt.Valid {
		amt = decimal.NullDecimal{Decimal: row.Amount, Valid: true}
	}
	return results.Flip{
		ClientTransferID: row.ID,
		Token:            d.Token,
		Was:              d.Was,
		Now:              d.Now,
		SourceAmount:     amt,
		SourceCurrency:   row.SourceCurrency,
		DetectedAt:       ev.At,
		ActionNeeded:     flipAction(row, d.Was, d.Now),
	}
}

// flipAction tells finance what a flip means for them.
func flipAction(row ledger.Row, was, now string) string {
	what := "payout"
	if row.Method == sheet.MethodLoad || row.LoadToken != "" && row.PayoutToken == "" {
		what = "wallet load"
	}
	if now == masspay.StatusCancelled {
		return fmt.Sprintf("MassPay cancelled this %s after reporting it %s: the payee did not get the money and MassPay returns the amount (and fee) to the account. Confirm with the payee; if still owed, pay again under a new client_transfer_id.", what, was)
	}
	return fmt.Sprintf("MassPay completed this %s after reporting it CANCELLED: the payee was paid. Do not pay again; if it was already re-paid, recover the second payment.", what)
}

// LedgerFlips returns every flip recorded for run runID (0: every run),
// oldest first: what ResultsOptions.Flips takes when results are
// regenerated after a reconcile.
func LedgerFlips(ctx context.Context, l *ledger.Ledger, runID int64) ([]results.Flip, error) {
	var out []results.Flip
	type flipped struct {
		row   ledger.Row
		inRun bool // run runID's sheet held the row
	}
	rows := map[string]flipped{}
	for ev, err := range l.Events(ctx, ledger.EventFilter{Kind: EventFlip}) {
		if err != nil {
			return nil, fmt.Errorf("read flips: %w", err)
		}
		f, ok := rows[ev.TransferID]
		if !ok {
			r, err := l.Row(ctx, ev.TransferID)
			if err != nil {
				return nil, fmt.Errorf("read flipped row %s: %w", ev.TransferID, err)
			}
			f.row = r
			// A flip belongs to every run whose sheet held the row, not
			// only to the latest: an earlier run's report shows the row.
			if runID != 0 {
				if f.inRun, err = l.InRun(ctx, runID, r.ID); err != nil {
					return nil, fmt.Errorf("read flipped row %s: %w", r.ID, err)
				}
			}
			rows[ev.TransferID] = f
		}
		row := f.row
		if runID != 0 && ev.RunID != runID && !f.inRun {
			continue
		}
		var d flipData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return nil, fmt.Errorf("read flip of %s: %w", ev.TransferID, err)
		}
		out = append(out, flipFromEvent(row, ev, d))
	}
	return out, nil
}
