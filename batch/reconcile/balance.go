package reconcile

import (
	"context"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// BalanceCheck compares one source currency's account balance with what the
// ledger expects: the balance recorded before the first run since the
// reconcile window opened, minus the amounts and fees of the payouts and
// loads committed since (payouts MassPay cancelled are refunded, so they take
// nothing), plus refunds of older payouts cancelled since.
type BalanceCheck struct {
	Currency string
	// OpeningRunID and Opening are the run whose balances_before opens the
	// comparison, and that balance.
	OpeningRunID int64
	Opening      decimal.Decimal
	// Debited is the amounts and fees of committed, not cancelled rows since.
	Debited decimal.Decimal
	// Refunded is what older rows cancelled since gave back.
	Refunded decimal.Decimal
	// Expected = Opening - Debited + Refunded; Actual is MassPay's balance.
	Expected, Actual decimal.Decimal
	// Difference = Actual - Expected; zero when the books agree.
	Difference decimal.Decimal
	// Explain lists ledger rows that could account for a difference.
	Explain []BalanceSuspect
}

// BalanceSuspect is a row that could explain a balance difference.
type BalanceSuspect struct {
	ClientTransferID string
	State            ledger.State
	MasspayStatus    string
	// Effect is what the row would add to the balance if it explains the
	// difference (negative: a debit the ledger did not count).
	Effect decimal.Decimal
	Why    string
}

// checkBalances compares MassPay's balances with the ledger's expectation.
func (r *Reconciler) checkBalances(ctx context.Context) ([]BalanceCheck, error) {
	runs, err := r.Ledger.Runs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	// The opening run of each currency: the first run in the window that
	// recorded a balance for it.
	open := map[string]ledger.Run{}
	for _, run := range runs {
		if !r.Since.IsZero() && run.StartedAt.Before(r.Since) {
			continue
		}
		for cur := range run.BalancesBefore {
			if _, ok := open[cur]; !ok {
				open[cur] = run
			}
		}
	}
	if len(open) == 0 {
		return nil, nil
	}
	bals, err := r.API.Balances(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetch balances: %w", err)
	}
	actual := map[string]decimal.Decimal{}
	for _, b := range bals {
		actual[b.CurrencyCode] = b.Balance
	}
	// The run each row was committed in: the run of its transition into a
	// committed state (a resumed run records a new run, whose opening
	// balance already holds what the earlier attempt paid).
	committedIn := map[string]int64{}
	for ev, err := range r.Ledger.Events(ctx, ledger.EventFilter{}) {
		if err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		if ev.TransferID == "" || ev.From == ev.To || !committedState(ev.To) {
			continue
		}
		if _, ok := committedIn[ev.TransferID]; !ok {
			committedIn[ev.TransferID] = ev.RunID
		}
	}

	checks := map[string]*BalanceCheck{}
	for cur, run := range open {
		checks[cur] = &BalanceCheck{Currency: cur, OpeningRunID: run.ID, Opening: run.BalancesBefore[cur]}
	}
	for row, err := range r.Ledger.Rows(ctx, ledger.RowFilter{}) {
		if err != nil {
			return nil, fmt.Errorf("list rows: %w", err)
		}
		bc := checks[row.SourceCurrency]
		if bc == nil {
			continue
		}
		run := open[row.SourceCurrency]
		debit := rowDebit(row)
		runID, committed := committedIn[row.ID]
		cancelled := row.Status() == masspay.StatusCancelled
		switch {
		case committed && runID >= run.ID:
			if !cancelled {
				bc.Debited = bc.Debited.Add(debit)
			}
			if cancelled {
				bc.Explain = append(bc.Explain, BalanceSuspect{ClientTransferID: row.ID, State: row.State,
					MasspayStatus: row.Status(), Effect: debit.Neg(),
					Why: "cancelled by MassPay: counted as refunded; if the refund has not reached the balance yet, it explains this"})
			}
		case committed && cancelled && row.LaterStatusAt.After(run.StartedAt):
			bc.Refunded = bc.Refunded.Add(debit)
			bc.Explain = append(bc.Explain, BalanceSuspect{ClientTransferID: row.ID, State: row.State,
				MasspayStatus: row.Status(), Effect: debit.Neg(),
				Why: "committed before the opening balance and cancelled after it: counted as refunded since"})
		case !committed && row.State.Unknown() && row.LastRunID >= run.ID:
			bc.Explain = append(bc.Explain, BalanceSuspect{ClientTransferID: row.ID, State: row.State,
				MasspayStatus: row.Status(), Effect: debit.Neg(),
				Why: "outcome unknown (" + string(row.State) + "): MassPay may have debited it; the next run settles it"})
		}
	}
	var out []BalanceCheck
	for cur, bc := range checks {
		bc.Expected = bc.Opening.Sub(bc.Debited).Add(bc.Refunded)
		bc.Actual = actual[cur]
		bc.Difference = bc.Actual.Sub(bc.Expected)
		if bc.Difference.IsZero() {
			bc.Explain = nil
		} else {
			bc.Explain = explainDifference(bc.Difference, bc.Explain)
		}
		out = append(out, *bc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out, nil
}

// explainDifference puts first the suspects whose effect alone equals the
// difference; when none does, every suspect stays, for a person to weigh.
func explainDifference(diff decimal.Decimal, sus []BalanceSuspect) []BalanceSuspect {
	var exact []BalanceSuspect
	for _, s := range sus {
		if s.Effect.Equal(diff) {
			exact = append(exact, s)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return sus
}

// rowDebit is what committing row took from the account: the source amount
// and the fee.
func rowDebit(row ledger.Row) decimal.Decimal {
	amt := row.Amount
	if row.SourceAmount.Valid {
		amt = row.SourceAmount.Decimal
	}
	if row.Fee.Valid {
		amt = amt.Add(row.Fee.Decimal)
	}
	return amt
}

// committedState reports whether a row in s has moved money.
func committedState(s ledger.State) bool {
	return s == ledger.StatePaid || s == ledger.StateLoaded || s == ledger.StateScheduled
}
