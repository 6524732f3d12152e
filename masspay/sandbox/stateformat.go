package sandbox

import (
	"encoding/hex"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// stateJSON is the state file: everything a resumed sandbox needs to give
// the answers the first one gave. Lookup maps are rebuilt from the lists.
type stateJSON struct {
	Version int `json:"version"`
	// JournalSeq is the sequence number of the last journal line this
	// snapshot holds: loading skips journal lines up to it.
	JournalSeq  uint64                 `json:"journal_seq,omitempty"`
	Now         time.Time              `json:"now"` // sandbox time of the snapshot
	RNG         []byte                 `json:"rng"` // token generator state
	Seq         int                    `json:"seq"`
	Balances    []balanceJSON          `json:"balances"`
	Users       []userJSON             `json:"users"`
	AttrSets    []attrSetJSON          `json:"attr_sets"`
	LastAttrSet map[string]string      `json:"last_attr_set"` // user|destination -> set token
	Wallets     []walletJSON           `json:"wallets"`
	Payouts     []payoutJSON           `json:"payouts"`
	Loads       []loadJSON             `json:"loads"`
	Statement   []masspay.StatementRow `json:"statement"`
	Timers      []timerJSON            `json:"timers"`
	Idempotency []idemJSON             `json:"idempotency"`
}

type balanceJSON struct {
	Token    string          `json:"token"`
	Currency string          `json:"currency"`
	Amount   decimal.Decimal `json:"amount"`
}

type userJSON struct {
	User    masspay.StoredUser `json:"user"`
	KYCLink string             `json:"kyc_link,omitempty"`
	Seq     int                `json:"seq"`
}

type attrSetJSON struct {
	Token     string            `json:"token"`
	UserToken string            `json:"user_token"`
	DestToken string            `json:"destination_token"`
	Values    map[string]string `json:"values"`
	Revoked   bool              `json:"revoked,omitempty"`
}

type walletJSON struct {
	Wallet masspay.Wallet        `json:"wallet"`
	Rules  []masspay.AutopayRule `json:"rules"`
}

type payoutJSON struct {
	Payout       masspay.PayoutTxnResp `json:"payout"`
	UserToken    string                `json:"user_token"`
	Created      time.Time             `json:"created"`
	Expires      time.Time             `json:"expires"`
	Committed    bool                  `json:"committed"`
	CommitStatus string                `json:"commit_status,omitempty"`
	CommittedAt  time.Time             `json:"committed_at"`
	Cents        int64                 `json:"cents"`
	Seq          int                   `json:"seq"`
}

type loadJSON struct {
	Token       string          `json:"token"`
	ClientID    string          `json:"client_load_id"`
	UserToken   string          `json:"user_token"`
	WalletToken string          `json:"wallet_token"`
	Currency    string          `json:"currency"`
	Notes       string          `json:"notes,omitempty"`
	Amount      decimal.Decimal `json:"amount"`
	Status      string          `json:"status"`
	Created     time.Time       `json:"created"`
	ProcessAt   time.Time       `json:"process_at"`
	Seq         int             `json:"seq"`
}

type timerJSON struct {
	At    time.Time `json:"at"`
	Seq   int       `json:"seq"`
	Kind  string    `json:"kind"`
	Token string    `json:"token"`
}

// idemJSON is a finished idempotency record. The key is the client's
// Idempotency-Key alone: the API key is never written.
type idemJSON struct {
	Key         string    `json:"key"`
	Fingerprint string    `json:"fingerprint"`
	Status      int       `json:"status"`
	Body        []byte    `json:"body"`
	StoredAt    time.Time `json:"stored_at"`
}

// journalJSON is one journal line: what one group commit changed. Entities
// are written whole (a later line replaces an earlier one's copy); the
// statement only grows, so a line holds its new rows; timers are added and
// removed by their unique sequence number.
type journalJSON struct {
	Seq         uint64                 `json:"seq"`
	Now         time.Time              `json:"now"`
	RNG         []byte                 `json:"rng"`
	Counter     int                    `json:"counter"` // Sandbox.seq
	Balances    []balanceJSON          `json:"balances"`
	Users       []userJSON             `json:"users,omitempty"`
	AttrSets    []attrSetJSON          `json:"attr_sets,omitempty"`
	LastAttrSet map[string]string      `json:"last_attr_set,omitempty"`
	Wallets     []walletJSON           `json:"wallets,omitempty"`
	Payouts     []payoutJSON           `json:"payouts,omitempty"`
	Loads       []loadJSON             `json:"loads,omitempty"`
	Statement   []masspay.StatementRow `json:"statement,omitempty"`
	TimersAdded []timerJSON            `json:"timers_added,omitempty"`
	TimersDone  []int                  `json:"timers_done,omitempty"`
	Idempotency []idemJSON             `json:"idempotency,omitempty"`
	IdemDropped []string               `json:"idempotency_dropped,omitempty"`
}

func (s *Sandbox) balancesJSON() []balanceJSON {
	var out []balanceJSON
	for _, b := range s.sortedBalances() {
		out = append(out, balanceJSON{Token: b.token, Currency: b.currency, Amount: b.amount})
	}
	return out
}

func userToJSON(u *user) userJSON {
	return userJSON{User: u.StoredUser, KYCLink: u.kycLink, Seq: u.seq}
}

func attrSetToJSON(a *attrSet) attrSetJSON {
	vals := make(map[string]string, len(a.values))
	for k, v := range a.values {
		vals[k] = v
	}
	return attrSetJSON{Token: a.token, UserToken: a.userToken, DestToken: a.destToken, Values: vals, Revoked: a.revoked}
}

func payoutToJSON(p *payout) payoutJSON {
	return payoutJSON{Payout: p.PayoutTxnResp, UserToken: p.userToken, Created: p.created,
		Expires: p.expires, Committed: p.committed, CommitStatus: p.commitStatus, CommittedAt: p.committedAt,
		Cents: p.cents, Seq: p.seq}
}

func loadToJSON(l *load) loadJSON {
	return loadJSON{Token: l.token, ClientID: l.clientID, UserToken: l.userToken,
		WalletToken: l.walletToken, Currency: l.currency, Notes: l.notes, Amount: l.amount, Status: l.status,
		Created: l.created, ProcessAt: l.processAt, Seq: l.seq}
}

func idemToJSON(k string, e *idemEntry) idemJSON {
	return idemJSON{Key: k, Fingerprint: hex.EncodeToString(e.fp[:]), Status: e.ans.status, Body: e.ans.body, StoredAt: e.storedAt}
}

// snapshot copies the state into its file form. Callers hold s.mu; the
// copy shares only values nothing mutates in place.
func (s *Sandbox) snapshot() (*stateJSON, error) {
	rng, err := s.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	st := &stateJSON{Version: stateVersion, Now: s.Now(), RNG: rng, Seq: s.seq,
		LastAttrSet: make(map[string]string, len(s.lastAttrSet)), Statement: s.statement[:len(s.statement):len(s.statement)],
		Balances: s.balancesJSON()}
	for _, u := range s.userList {
		st.Users = append(st.Users, userToJSON(u))
		for _, w := range s.userWallets[u.UserToken] {
			st.Wallets = append(st.Wallets, walletJSON{Wallet: w.Wallet, Rules: rulesOf(w)})
		}
	}
	for _, a := range s.attrSets {
		st.AttrSets = append(st.AttrSets, attrSetToJSON(a))
	}
	for k, a := range s.lastAttrSet {
		st.LastAttrSet[k] = a.token
	}
	for _, p := range s.payoutList {
		st.Payouts = append(st.Payouts, payoutToJSON(p))
	}
	for _, l := range s.loadList {
		st.Loads = append(st.Loads, loadToJSON(l))
	}
	for _, t := range s.timers {
		st.Timers = append(st.Timers, timerJSON{At: t.at, Seq: t.seq, Kind: t.kind, Token: t.token})
	}
	s.idem.mu.Lock()
	for k, e := range s.idem.entries {
		if e.done {
			st.Idempotency = append(st.Idempotency, idemToJSON(k, e))
		}
	}
	s.idem.mu.Unlock()
	return st, nil
}
