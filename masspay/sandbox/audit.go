package sandbox

import (
	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// Audit is the sandbox's whole ledger, for tests and operators: every payout
// (committed or not), every load, and the account balances. It is how a test
// proves that nothing was paid twice.
type Audit struct {
	Payouts  []AuditPayout              `json:"payouts"`
	Loads    []AuditLoad                `json:"loads"`
	Balances []masspay.AvailableBalance `json:"balances"`
}

// AuditPayout is one payout in the audit view.
type AuditPayout struct {
	ClientTransferID        string          `json:"client_transfer_id"`
	PayoutToken             string          `json:"payout_token"`
	UserToken               string          `json:"user_token"`
	Status                  string          `json:"status"`
	Committed               bool            `json:"committed"`
	SourceAmount            decimal.Decimal `json:"source_amount"`
	SourceCurrencyCode      string          `json:"source_currency_code"`
	DestinationAmount       decimal.Decimal `json:"destination_amount"`
	DestinationCurrencyCode string          `json:"destination_currency_code"`
	Fee                     decimal.Decimal `json:"fee"`
}

// AuditLoad is one load in the audit view.
type AuditLoad struct {
	ClientLoadID       string          `json:"client_load_id"`
	LoadToken          string          `json:"load_token"`
	UserToken          string          `json:"user_token"`
	Amount             decimal.Decimal `json:"amount"`
	SourceCurrencyCode string          `json:"source_currency_code"`
	Status             string          `json:"status"`
}

// Audit returns the same data as GET /_sandbox/audit.
func (s *Sandbox) Audit() Audit {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUp(s.Now())
	return s.audit()
}

func (s *Sandbox) audit() Audit {
	a := Audit{Payouts: []AuditPayout{}, Loads: []AuditLoad{}, Balances: []masspay.AvailableBalance{}}
	for _, p := range s.payoutList {
		v := s.view(p)
		a.Payouts = append(a.Payouts, AuditPayout{ClientTransferID: v.ClientTransferID, PayoutToken: v.PayoutToken,
			UserToken: p.userToken, Status: v.Status, Committed: p.committed, SourceAmount: v.SourceAmount,
			SourceCurrencyCode: v.SourceCurrencyCode, DestinationAmount: v.DestinationAmount,
			DestinationCurrencyCode: v.DestinationCurrencyCode, Fee: v.Fee})
	}
	for _, l := range s.loadList {
		a.Loads = append(a.Loads, AuditLoad{ClientLoadID: l.clientID, LoadToken: l.token, UserToken: l.userToken,
			Amount: l.amount, SourceCurrencyCode: l.currency, Status: l.status})
	}
	for _, b := range s.sortedBalances() {
		a.Balances = append(a.Balances, masspay.AvailableBalance{Token: b.token, Balance: b.amount, CurrencyCode: b.currency})
	}
	return a
}
