package autopay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
)

// EventAutopay is the ledger event kind of every autopay rule change: the
// intent before the call and the outcome after it.
const EventAutopay ledger.EventKind = "autopay"

// ErrPlanRefused is returned by ApplyAutopay for a plan with errors.
var ErrPlanRefused = errors.New("autopay plan has problems")

// AutopayApplied counts what ApplyAutopay changed.
type AutopayApplied struct {
	Added, Replaced, Removed int
}

// ApplyAutopay makes plan true in MassPay and records every change in l.
// A plan with errors is refused before any call. Deletions go first, so a
// wallet's rules never add up to more than 100% on the way. A rule to delete
// that is already gone counts as deleted. Applying the same sheet again
// plans no change, so nothing is called the second time.
//
// Each call has its own Idempotency-Key, fresh per apply: the client's own
// retries reuse it, while a later apply (which re-reads the rules first) can
// add a rule again that someone deleted in between.
func ApplyAutopay(ctx context.Context, api AutopayAPI, l *ledger.Ledger, plan *AutopayPlan) (AutopayApplied, error) {
	var done AutopayApplied
	if plan.Problems.HasErrors() {
		return done, fmt.Errorf("apply autopay rules of %s: %w (%d errors)", plan.Sheet, ErrPlanRefused, plan.Problems.Errors())
	}
	nonce, err := newNonce()
	if err != nil {
		return done, err
	}
	key := func(i int, op string) string { return fmt.Sprintf("autopay:%s:%d:%s", nonce, i, op) }
	// Pass 1 deletes (removals and the old side of replacements); pass 2 adds.
	for i, c := range plan.Changes {
		if c.Kind != AutopayRemove && c.Kind != AutopayReplace {
			continue
		}
		if err := deleteRule(ctx, api, l, "", key(i, "delete"), c); err != nil {
			return done, err
		}
		if c.Kind == AutopayRemove {
			done.Removed++
		}
	}
	for i, c := range plan.Changes {
		if c.Kind != AutopayAdd && c.Kind != AutopayReplace {
			continue
		}
		if _, err := addRule(ctx, api, l, "", key(i, "attrs"), key(i, "add"), c); err != nil {
			return done, err
		}
		if c.Kind == AutopayAdd {
			done.Added++
		} else {
			done.Replaced++
		}
	}
	return done, nil
}

// Phases of an autopay event: the intent before a call, its outcome after.
// PhaseDone is exported for the runner, which records a rule it found in
// place as done.
const (
	autopayIntent = "intent"
	PhaseDone     = "done"
	autopayFailed = "failed"
)

// EventData is the JSON detail of an EventAutopay event.
type EventData struct {
	Action           string `json:"action"`
	Phase            string `json:"phase,omitempty"` // autopayIntent, PhaseDone or autopayFailed
	InternalUserID   string `json:"internal_user_id,omitempty"`
	UserToken        string `json:"user_token"`
	WalletToken      string `json:"wallet_token"`
	WalletCurrency   string `json:"wallet_currency,omitempty"`
	DestinationToken string `json:"destination_token"`
	Percentage       string `json:"percentage"`
	RuleToken        string `json:"rule_token,omitempty"`
	SheetLine        int    `json:"sheet_line,omitempty"`
}

// Record appends an EventAutopay event of phase to transferID's history in
// l (nothing when l is nil): autopay apply and the runner's load step write
// the same events, which Settled reads back.
func Record(ctx context.Context, l *ledger.Ledger, transferID, key, phase, msg string, d EventData) error {
	if l == nil {
		return nil
	}
	d.Phase = phase
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode autopay event: %w", err)
	}
	if _, err := l.AppendEvent(ctx, ledger.Event{TransferID: transferID, Kind: EventAutopay, IdempotencyKey: key, Message: msg, Data: data}); err != nil {
		return fmt.Errorf("record autopay change: %w", err)
	}
	return nil
}

// Settled reports whether ev is the outcome of an autopay call rather
// than the intent before one. Events written before phases were
// recorded tell by their message.
func Settled(ev ledger.Event) bool {
	var d EventData
	if json.Unmarshal(ev.Data, &d) == nil && d.Phase != "" {
		return d.Phase != autopayIntent
	}
	return !strings.Contains(ev.Message, " intent: ")
}

func eventData(action string, c AutopayChange, pct string, rule string) EventData {
	return EventData{Action: action, InternalUserID: c.InternalUserID, UserToken: c.UserToken, WalletToken: c.WalletToken,
		WalletCurrency: c.WalletCurrency, DestinationToken: c.DestinationToken, Percentage: pct, RuleToken: rule, SheetLine: c.Line}
}

// deleteRule deletes c.Existing, recording the intent and the outcome.
func deleteRule(ctx context.Context, api AutopayAPI, l *ledger.Ledger, transferID, key string, c AutopayChange) error {
	d := eventData("delete", c, c.Existing.Percentage.String(), c.Existing.Token)
	if err := Record(ctx, l, transferID, key, autopayIntent, "autopay delete intent: "+c.String(), d); err != nil {
		return err
	}
	err := api.DeleteAutopayRule(ctx, key, c.UserToken, c.WalletToken, c.Existing.Token)
	msg := fmt.Sprintf("deleted autopay rule %s (%s%% of %s's %s wallet to %s)", c.Existing.Token, c.Existing.Percentage, c.InternalUserID, c.WalletCurrency, c.Route)
	if errors.Is(err, masspay.ErrNotFound) {
		err, msg = nil, fmt.Sprintf("autopay rule %s was already gone", c.Existing.Token)
	}
	if err != nil {
		_ = Record(ctx, l, transferID, key, autopayFailed, "autopay delete failed: "+routing.ErrorText(err), d)
		return fmt.Errorf("delete autopay rule %s of %s: %w", c.Existing.Token, c.InternalUserID, err)
	}
	return Record(ctx, l, transferID, key, PhaseDone, msg, d)
}

// addRule stores the route's payee details if new ones are given, then adds
// the rule, recording the intent and the outcome.
func addRule(ctx context.Context, api AutopayAPI, l *ledger.Ledger, transferID, attrsKey, key string, c AutopayChange) (*masspay.AutopayRule, error) {
	d := eventData("add", c, c.Percentage.String(), "")
	if err := Record(ctx, l, transferID, key, autopayIntent, "autopay add intent: "+c.String(), d); err != nil {
		return nil, err
	}
	set, err := storeAutopayDetails(ctx, api, attrsKey, c.UserToken, c.route, c.values, c.storedSet)
	if err == nil {
		var rule *masspay.AutopayRule
		rule, err = api.AddAutopayRule(ctx, key, c.UserToken, c.WalletToken,
			masspay.AutopayRuleTxn{DestinationToken: c.DestinationToken, Percentage: c.Percentage, AttrSetToken: set})
		if err == nil {
			d.RuleToken = rule.Token
			msg := fmt.Sprintf("added autopay rule %s: %s%% of %s's %s wallet to %s", rule.Token, c.Percentage, c.InternalUserID, c.WalletCurrency, c.Route)
			return rule, Record(ctx, l, transferID, key, PhaseDone, msg, d)
		}
	}
	_ = Record(ctx, l, transferID, key, autopayFailed, "autopay add failed: "+routing.ErrorText(err), d)
	return nil, fmt.Errorf("add autopay rule for %s: %w", c.InternalUserID, err)
}

func newNonce() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make idempotency nonce: %w", err)
	}
	return hex.EncodeToString(b), nil
}
