package main

import (
	"context"
	"fmt"
	"iter"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// rowsToPlan yields the rows of run runID the run's plan and balance check
// count: every row not final yet, except, for a runner joining a run on a
// PostgreSQL ledger (claimOwner set), the rows another runner holds under
// a live claim. That runner is paying them, and their money may already
// have left the balance (a load sent or a payout committed whose answer
// is not recorded yet): counting them again would refuse a balance that
// covers what is left (TestJoiningRunnerLeavesOutRowsPaidByTheOther).
func (m *Main) rowsToPlan(ctx context.Context, l *ledger.Ledger, runID int64, claimOwner string) (iter.Seq2[sheet.Row, error], error) {
	rows := batch.LedgerRowsToWork(ctx, l, runID)
	if claimOwner == "" {
		return rows, nil
	}
	others, err := l.ClaimedElsewhere(ctx, runID, claimOwner)
	if err != nil {
		return nil, err
	}
	if len(others) == 0 {
		return rows, nil
	}
	fmt.Fprintf(m.humanOut(), "%s %s being paid by another runner on this ledger; not counted here.\n",
		plural.Count(len(others), "row"), plural.Verb(len(others), "is", "are"))
	return withoutRows(rows, others), nil
}

// withoutRows yields the rows of seq other than those whose
// client_transfer_id is in skip.
func withoutRows(seq iter.Seq2[sheet.Row, error], skip map[string]bool) iter.Seq2[sheet.Row, error] {
	return func(yield func(sheet.Row, error) bool) {
		for r, err := range seq {
			if err == nil && skip[r.ClientTransferID] {
				continue
			}
			if !yield(r, err) {
				return
			}
		}
	}
}
