package sandbox

import (
	"container/heap"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// stateVersion is the format version of a state file.
const stateVersion = 1

// stateNotSaved is the answer given instead of the real one when the state
// file could not be written: the client must not take for done what a crash
// could forget.
var stateNotSaved = errAnswer(&apiError{Status: http.StatusInternalServerError, Title: "Internal Server Error",
	Message: "the sandbox could not save its state file; retry the request with the same Idempotency-Key",
	Code:    "STATE_NOT_SAVED"})

// stateStore saves snapshots of a Sandbox's state to one file with group
// commit: a request waits until a snapshot at least as new as what it saw is
// on disk, and one write covers every request that arrived before it began.
type stateStore struct {
	path    string
	mu      sync.Mutex
	cond    *sync.Cond
	writing bool
	saved   uint64 // version on disk
	failed  uint64 // version of the last failed write
	err     error  // error of that write
}

func newStateStore(path string) *stateStore {
	st := &stateStore{path: path}
	st.cond = sync.NewCond(&st.mu)
	return st
}

// sync returns once every change made so far is in the state file. Without
// a state file it does nothing.
func (s *Sandbox) sync() error {
	st := s.store
	if st == nil {
		return nil
	}
	v := s.ver.Load()
	st.mu.Lock()
	defer st.mu.Unlock()
	for st.saved < v {
		if st.writing {
			st.cond.Wait()
			if st.saved < v && st.failed >= v {
				return st.err
			}
			continue
		}
		st.writing = true
		st.mu.Unlock()
		got, err := s.write()
		st.mu.Lock()
		st.writing = false
		if err != nil {
			st.failed, st.err = got, err
		} else if got > st.saved {
			st.saved = got
		}
		st.cond.Broadcast()
		if err != nil {
			s.log.Error().Err(err).Msg("sandbox state not saved")
			return err
		}
	}
	return nil
}

// save writes the state now, whatever is already on disk.
func (s *Sandbox) save() error {
	s.store.mu.Lock()
	for s.store.writing {
		s.store.cond.Wait()
	}
	s.store.writing = true
	s.store.mu.Unlock()
	got, err := s.write()
	s.store.mu.Lock()
	s.store.writing = false
	if err == nil && got > s.store.saved {
		s.store.saved = got
	}
	s.store.cond.Broadcast()
	s.store.mu.Unlock()
	return err
}

// write snapshots the state under s.mu, then encodes and writes it outside
// the lock. It returns the version written.
func (s *Sandbox) write() (uint64, error) {
	s.mu.Lock()
	v := s.ver.Load()
	snap, err := s.snapshot()
	s.mu.Unlock()
	if err != nil {
		return v, fmt.Errorf("save sandbox state: %w", err)
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return v, fmt.Errorf("save sandbox state: %w", err)
	}
	if err := writeFileAtomic(s.store.path, data); err != nil {
		return v, fmt.Errorf("save sandbox state: %w", err)
	}
	return v, nil
}

// writeFileAtomic replaces path with data so that a crash at any instant
// leaves either the old or the new file: temp file in the same directory,
// fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// stateJSON is the state file: everything a resumed sandbox needs to give
// the answers the first one gave. Lookup maps are rebuilt from the lists.
type stateJSON struct {
	Version     int                    `json:"version"`
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

// snapshot copies the state into its file form. Callers hold s.mu; the
// copy shares only values nothing mutates in place.
func (s *Sandbox) snapshot() (*stateJSON, error) {
	rng, err := s.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	st := &stateJSON{Version: stateVersion, Now: s.Now(), RNG: rng, Seq: s.seq,
		LastAttrSet: make(map[string]string, len(s.lastAttrSet)), Statement: s.statement}
	for _, b := range s.sortedBalances() {
		st.Balances = append(st.Balances, balanceJSON{Token: b.token, Currency: b.currency, Amount: b.amount})
	}
	for _, u := range s.userList {
		st.Users = append(st.Users, userJSON{User: u.StoredUser, KYCLink: u.kycLink, Seq: u.seq})
		for _, w := range s.userWallets[u.UserToken] {
			st.Wallets = append(st.Wallets, walletJSON{Wallet: w.Wallet, Rules: rulesOf(w)})
		}
	}
	for _, a := range s.attrSets {
		vals := make(map[string]string, len(a.values))
		for k, v := range a.values {
			vals[k] = v
		}
		st.AttrSets = append(st.AttrSets, attrSetJSON{Token: a.token, UserToken: a.userToken, DestToken: a.destToken, Values: vals})
	}
	for k, a := range s.lastAttrSet {
		st.LastAttrSet[k] = a.token
	}
	for _, p := range s.payoutList {
		st.Payouts = append(st.Payouts, payoutJSON{Payout: p.PayoutTxnResp, UserToken: p.userToken, Created: p.created,
			Expires: p.expires, Committed: p.committed, CommitStatus: p.commitStatus, CommittedAt: p.committedAt,
			Cents: p.cents, Seq: p.seq})
	}
	for _, l := range s.loadList {
		st.Loads = append(st.Loads, loadJSON{Token: l.token, ClientID: l.clientID, UserToken: l.userToken,
			WalletToken: l.walletToken, Currency: l.currency, Notes: l.notes, Amount: l.amount, Status: l.status,
			Created: l.created, ProcessAt: l.processAt, Seq: l.seq})
	}
	for _, t := range s.timers {
		st.Timers = append(st.Timers, timerJSON{At: t.at, Seq: t.seq, Kind: t.kind, Token: t.token})
	}
	s.idem.mu.Lock()
	for k, e := range s.idem.entries {
		if e.done {
			st.Idempotency = append(st.Idempotency, idemJSON{Key: k, Fingerprint: hex.EncodeToString(e.fp[:]),
				Status: e.ans.status, Body: e.ans.body, StoredAt: e.storedAt})
		}
	}
	s.idem.mu.Unlock()
	return st, nil
}

// loadState restores the state file into the fresh s. It reports false when
// the file does not exist.
func (s *Sandbox) loadState() (bool, error) {
	path := s.store.path
	// Temp files of writes a crash cut short were never renamed into
	// place: nothing refers to them.
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")); len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read state file %s: %w", path, err)
	}
	var st stateJSON
	if err := json.Unmarshal(data, &st); err != nil {
		return false, fmt.Errorf("load state file %s: %w", path, err)
	}
	if err := s.restore(&st); err != nil {
		return false, fmt.Errorf("load state file %s: %w", path, err)
	}
	return true, nil
}

// errBadState marks a state file that parses but does not hold together.
var errBadState = errors.New("inconsistent state")

func (s *Sandbox) restore(st *stateJSON) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", errBadState, fmt.Sprintf(format, args...))
	}
	if st.Version != stateVersion {
		return bad("version %d, want %d", st.Version, stateVersion)
	}
	if err := s.pcg.UnmarshalBinary(st.RNG); err != nil {
		return bad("rng: %v", err)
	}
	if mc, ok := s.clock.(*ManualClock); ok {
		if now := mc.Now(); now.Before(st.Now) {
			mc.Advance(st.Now.Sub(now))
		}
	}
	s.seq = st.Seq
	for _, b := range st.Balances {
		if _, ok := currencies[b.Currency]; !ok {
			return bad("unknown currency %q", b.Currency)
		}
		x := &balance{token: b.Token, currency: b.Currency, amount: b.Amount}
		s.balances[x.currency], s.balanceTokens[x.token] = x, x
	}
	for _, j := range st.Users {
		u := &user{StoredUser: j.User, kycLink: j.KYCLink, seq: j.Seq}
		s.users[u.UserToken] = u
		s.userList = append(s.userList, u)
		s.usersByEmail[strings.ToLower(u.Email)] = u
		s.usersByID[u.InternalUserID] = u
	}
	for _, j := range st.Wallets {
		w := &wallet{Wallet: j.Wallet}
		for i := range j.Rules {
			w.rules = append(w.rules, &j.Rules[i])
		}
		s.wallets[w.Token] = w
		s.userWallets[w.UserToken] = append(s.userWallets[w.UserToken], w)
	}
	for _, j := range st.AttrSets {
		if j.Values == nil {
			j.Values = map[string]string{}
		}
		s.attrSets[j.Token] = &attrSet{token: j.Token, userToken: j.UserToken, destToken: j.DestToken, values: j.Values}
	}
	for k, tok := range st.LastAttrSet {
		a := s.attrSets[tok]
		if a == nil {
			return bad("unknown attribute set %q", tok)
		}
		s.lastAttrSet[k] = a
	}
	for _, j := range st.Payouts {
		r := routesByToken[j.Payout.DestinationToken]
		if r == nil {
			return bad("payout %s: unknown destination %q", j.Payout.PayoutToken, j.Payout.DestinationToken)
		}
		p := &payout{PayoutTxnResp: j.Payout, userToken: j.UserToken, route: r, created: j.Created, expires: j.Expires,
			committed: j.Committed, commitStatus: j.CommitStatus, committedAt: j.CommittedAt, cents: j.Cents, seq: j.Seq}
		s.payouts[p.PayoutToken] = p
		s.payoutList = append(s.payoutList, p)
		if p.committed && p.ClientTransferID != "" {
			s.committedCTID[p.ClientTransferID] = p
		}
	}
	for _, j := range st.Loads {
		if s.wallets[j.WalletToken] == nil {
			return bad("load %s: unknown wallet %q", j.Token, j.WalletToken)
		}
		l := &load{token: j.Token, clientID: j.ClientID, userToken: j.UserToken, walletToken: j.WalletToken,
			currency: j.Currency, notes: j.Notes, amount: j.Amount, status: j.Status, created: j.Created,
			processAt: j.ProcessAt, seq: j.Seq}
		s.loads[l.token] = l
		s.loadList = append(s.loadList, l)
		s.loadsByClient[l.clientID] = l
	}
	s.statement = st.Statement
	for _, j := range st.Timers {
		s.timers = append(s.timers, &timer{at: j.At, seq: j.Seq, kind: j.Kind, token: j.Token})
	}
	heap.Init(&s.timers)
	for _, j := range st.Idempotency {
		e := &idemEntry{done: true, ans: answer{status: j.Status, body: j.Body}, storedAt: j.StoredAt}
		if len(j.Fingerprint) != 2*len(e.fp) {
			return bad("idempotency key %q: bad fingerprint", j.Key)
		}
		if _, err := hex.Decode(e.fp[:], []byte(j.Fingerprint)); err != nil {
			return bad("idempotency key %q: bad fingerprint", j.Key)
		}
		s.idem.entries[j.Key] = e
	}
	return nil
}
