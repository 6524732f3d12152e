package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// transferIDs returns every client_transfer_id the row has sent, oldest
// first: its own id, then any derived after a DUPLICATE on a fresh quote.
// The last one is what the next initiate sends.
func (r *Runner) transferIDs(ctx context.Context, row ledger.Row) ([]string, error) {
	ids := []string{row.ID}
	if row.QuoteSeq <= 1 {
		return ids, nil // derivation needs an earlier quote
	}
	for ev, err := range r.Ledger.Events(ctx, ledger.EventFilter{TransferID: row.ID}) {
		if err != nil {
			return nil, fmt.Errorf("read events of %s: %w", row.ID, err)
		}
		if !strings.HasPrefix(ev.Message, msgDerivedID) || len(ev.Data) == 0 {
			continue
		}
		var d struct {
			ClientTransferID string `json:"client_transfer_id"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.ClientTransferID == "" {
			return nil, fmt.Errorf("read derived client_transfer_id of %s: event %d: %v", row.ID, ev.Seq, err)
		}
		ids = append(ids, d.ClientTransferID)
	}
	return ids, nil
}

// transferID is the client_transfer_id the row's next initiate sends.
func (r *Runner) transferID(ctx context.Context, row ledger.Row) (string, error) {
	ids, err := r.transferIDs(ctx, row)
	if err != nil {
		return "", err
	}
	return ids[len(ids)-1], nil
}

// derivedTransferID is the client_transfer_id of quote seq after MassPay
// refused the row's own id: the quote's Idempotency-Key ("<id>#3"), cut to
// MassPay's 50 characters with a hash of the id when too long.
func derivedTransferID(id string, seq int) string {
	d := ledger.PayoutKey(id, seq)
	if len([]rune(d)) <= maxTransferID {
		return d
	}
	suffix := "~" + ledger.Fingerprint(id)[:8] + "#" + strconv.Itoa(seq)
	rs := []rune(id)
	return string(rs[:maxTransferID-len(suffix)]) + suffix
}

// commitsAllRefused reports whether every commit the row ever sent was
// definitely refused with ex_rate_expired: each entry into committing was
// followed by a move back to initiating carrying that status. A quote that
// lapsed before its commit was sent counts as never committed. Only then
// did no earlier quote of the row move money.
func (r *Runner) commitsAllRefused(ctx context.Context, row ledger.Row) (bool, error) {
	entered, refused := 0, 0
	for ev, err := range r.Ledger.Events(ctx, ledger.EventFilter{TransferID: row.ID}) {
		if err != nil {
			return false, fmt.Errorf("read events of %s: %w", row.ID, err)
		}
		if ev.Kind != ledger.EventTransition || ev.From == ev.To {
			continue
		}
		switch {
		case ev.To == ledger.StateCommitting:
			entered++
		case ev.From == ledger.StateCommitting && ev.To == ledger.StateInitiating && ev.MasspayStatus == masspay.CommitExRateExpired:
			refused++
		case ev.From == ledger.StateCommitting:
			return false, nil // any other way out of committing: not this rule
		}
	}
	return entered == refused, nil
}
