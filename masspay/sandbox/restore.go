package sandbox

import (
	"bytes"
	"container/heap"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// loadState restores the snapshot and replays its journal into the fresh
// s, and opens the journal for appending. It reports false when there is no
// snapshot; a journal without one is left from a deleted state and is
// emptied by the first save.
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
	s.store.snapSize = int64(len(data))
	s.store.jseq = st.JournalSeq
	if err := s.replayJournal(); err != nil {
		return false, err
	}
	return true, nil
}

// replayJournal applies the journal lines newer than the snapshot, drops a
// cut last line (a write a crash interrupted; nothing was answered on it),
// and leaves the journal open for appending.
func (s *Sandbox) replayJournal() error {
	st := s.store
	jp := journalPath(st.path)
	f, err := os.OpenFile(jp, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open journal %s: %w", jp, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("read journal %s: %w", jp, err)
	}
	var good int64 // bytes of whole, applied (or skipped) lines
	done := map[int]bool{}
	for rest := data; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		var rec journalJSON
		if i < 0 || json.Unmarshal(rest[:i], &rec) != nil {
			// Only a last line may be bad: any later whole line means
			// the file was damaged, not cut.
			if i >= 0 && bytes.Contains(rest[i+1:], []byte("\n")) {
				f.Close()
				return fmt.Errorf("load journal %s: %w: bad line at byte %d", jp, errBadState, good)
			}
			break
		}
		if rec.Seq > st.jseq {
			if rec.Seq != st.jseq+1 {
				f.Close()
				return fmt.Errorf("load journal %s: %w: line %d follows %d", jp, errBadState, rec.Seq, st.jseq)
			}
			if err := s.apply(&rec, done); err != nil {
				f.Close()
				return fmt.Errorf("load journal %s: %w", jp, err)
			}
			st.jseq = rec.Seq
		}
		good += int64(i + 1)
		rest = rest[i+1:]
	}
	if len(done) > 0 {
		kept := s.timers[:0]
		for _, t := range s.timers {
			if !done[t.seq] {
				kept = append(kept, t)
			}
		}
		s.timers = kept
	}
	heap.Init(&s.timers)
	if good < int64(len(data)) {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return fmt.Errorf("drop cut journal line %s: %w", jp, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("drop cut journal line %s: %w", jp, err)
		}
	}
	st.journal, st.jsize = f, good
	return nil
}

// errBadState marks a state file that parses but does not hold together.
var errBadState = errors.New("inconsistent state")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadState, fmt.Sprintf(format, args...))
}

func (s *Sandbox) restore(st *stateJSON) error {
	if st.Version != stateVersion && st.Version != 1 {
		return bad("version %d, want %d", st.Version, stateVersion)
	}
	if err := s.restoreScalars(st.RNG, st.Now, st.Seq); err != nil {
		return err
	}
	if err := s.putBalances(st.Balances); err != nil {
		return err
	}
	for _, j := range st.Users {
		s.putUser(j)
	}
	for _, j := range st.Wallets {
		s.putWallet(j)
	}
	for _, j := range st.AttrSets {
		s.putAttrSet(j)
	}
	if err := s.putLastAttrSets(st.LastAttrSet); err != nil {
		return err
	}
	for _, j := range st.Payouts {
		if err := s.putPayout(j); err != nil {
			return err
		}
	}
	for _, j := range st.Loads {
		if err := s.putLoad(j); err != nil {
			return err
		}
	}
	s.statement = st.Statement
	for _, j := range st.Timers {
		s.timers = append(s.timers, &timer{at: j.At, seq: j.Seq, kind: j.Kind, token: j.Token})
	}
	heap.Init(&s.timers)
	for _, j := range st.Idempotency {
		if err := s.putIdem(j); err != nil {
			return err
		}
	}
	return nil
}

// apply replays one journal line. Finished timers are collected in done and
// removed once the whole journal is read (timer sequence numbers are
// unique, so order does not matter).
func (s *Sandbox) apply(j *journalJSON, done map[int]bool) error {
	if err := s.restoreScalars(j.RNG, j.Now, j.Counter); err != nil {
		return err
	}
	if err := s.putBalances(j.Balances); err != nil {
		return err
	}
	for _, u := range j.Users {
		s.putUser(u)
	}
	for _, w := range j.Wallets {
		s.putWallet(w)
	}
	for _, a := range j.AttrSets {
		s.putAttrSet(a)
	}
	if err := s.putLastAttrSets(j.LastAttrSet); err != nil {
		return err
	}
	for _, p := range j.Payouts {
		if err := s.putPayout(p); err != nil {
			return err
		}
	}
	for _, l := range j.Loads {
		if err := s.putLoad(l); err != nil {
			return err
		}
	}
	s.statement = append(s.statement, j.Statement...)
	for _, t := range j.TimersAdded {
		s.timers = append(s.timers, &timer{at: t.At, seq: t.Seq, kind: t.Kind, token: t.Token})
	}
	for _, seq := range j.TimersDone {
		done[seq] = true
	}
	for _, e := range j.Idempotency {
		if err := s.putIdem(e); err != nil {
			return err
		}
	}
	for _, k := range j.IdemDropped {
		delete(s.idem.entries, k)
	}
	return nil
}

func (s *Sandbox) restoreScalars(rng []byte, now time.Time, seq int) error {
	if err := s.pcg.UnmarshalBinary(rng); err != nil {
		return bad("rng: %v", err)
	}
	if mc, ok := s.clock.(*ManualClock); ok {
		if cur := mc.Now(); cur.Before(now) {
			mc.Advance(now.Sub(cur))
		}
	}
	s.seq = seq
	return nil
}

func (s *Sandbox) putBalances(list []balanceJSON) error {
	for _, b := range list {
		if _, ok := currencies[b.Currency]; !ok {
			return bad("unknown currency %q", b.Currency)
		}
		if x := s.balances[b.Currency]; x != nil && x.token == b.Token {
			x.amount = b.Amount
			continue
		}
		x := &balance{token: b.Token, currency: b.Currency, amount: b.Amount}
		s.balances[x.currency], s.balanceTokens[x.token] = x, x
	}
	return nil
}

// putUser creates or replaces a user, keeping the lookups by email and
// internal id in step with a user whose email or id changed.
func (s *Sandbox) putUser(j userJSON) {
	u := s.users[j.User.UserToken]
	if u == nil {
		u = &user{}
		s.users[j.User.UserToken] = u
		s.userList = append(s.userList, u)
	} else {
		if s.usersByEmail[strings.ToLower(u.Email)] == u {
			delete(s.usersByEmail, strings.ToLower(u.Email))
		}
		if s.usersByID[u.InternalUserID] == u {
			delete(s.usersByID, u.InternalUserID)
		}
	}
	u.StoredUser, u.kycLink, u.seq = j.User, j.KYCLink, j.Seq
	s.usersByEmail[strings.ToLower(u.Email)] = u
	s.usersByID[u.InternalUserID] = u
}

func (s *Sandbox) putWallet(j walletJSON) {
	w := s.wallets[j.Wallet.Token]
	if w == nil {
		w = &wallet{}
		s.wallets[j.Wallet.Token] = w
		s.userWallets[j.Wallet.UserToken] = append(s.userWallets[j.Wallet.UserToken], w)
	}
	w.Wallet, w.rules = j.Wallet, nil
	for i := range j.Rules {
		w.rules = append(w.rules, &j.Rules[i])
	}
}

func (s *Sandbox) putAttrSet(j attrSetJSON) {
	if j.Values == nil {
		j.Values = map[string]string{}
	}
	if a := s.attrSets[j.Token]; a != nil {
		a.values, a.revoked = j.Values, j.Revoked
		return
	}
	s.attrSets[j.Token] = &attrSet{token: j.Token, userToken: j.UserToken, destToken: j.DestToken, values: j.Values, revoked: j.Revoked}
}

func (s *Sandbox) putLastAttrSets(m map[string]string) error {
	for k, tok := range m {
		a := s.attrSets[tok]
		if a == nil {
			return bad("unknown attribute set %q", tok)
		}
		s.lastAttrSet[k] = a
	}
	return nil
}

func (s *Sandbox) putPayout(j payoutJSON) error {
	r := routesByToken[j.Payout.DestinationToken]
	if r == nil {
		return bad("payout %s: unknown destination %q", j.Payout.PayoutToken, j.Payout.DestinationToken)
	}
	p := s.payouts[j.Payout.PayoutToken]
	if p == nil {
		p = &payout{}
		s.payouts[j.Payout.PayoutToken] = p
		s.payoutList = append(s.payoutList, p)
	}
	*p = payout{PayoutTxnResp: j.Payout, userToken: j.UserToken, route: r, created: j.Created, expires: j.Expires,
		committed: j.Committed, commitStatus: j.CommitStatus, committedAt: j.CommittedAt, cents: j.Cents, seq: j.Seq}
	if p.committed && p.ClientTransferID != "" {
		s.committedCTID[p.ClientTransferID] = p
	}
	return nil
}

func (s *Sandbox) putLoad(j loadJSON) error {
	if s.wallets[j.WalletToken] == nil {
		return bad("load %s: unknown wallet %q", j.Token, j.WalletToken)
	}
	l := s.loads[j.Token]
	if l == nil {
		l = &load{}
		s.loads[j.Token] = l
		s.loadList = append(s.loadList, l)
	}
	*l = load{token: j.Token, clientID: j.ClientID, userToken: j.UserToken, walletToken: j.WalletToken,
		currency: j.Currency, notes: j.Notes, amount: j.Amount, status: j.Status, created: j.Created,
		processAt: j.ProcessAt, seq: j.Seq}
	s.loadsByClient[l.clientID] = l
	return nil
}

func (s *Sandbox) putIdem(j idemJSON) error {
	e := &idemEntry{done: true, ans: answer{status: j.Status, body: j.Body}, storedAt: j.StoredAt}
	if len(j.Fingerprint) != 2*len(e.fp) {
		return bad("idempotency key %q: bad fingerprint", j.Key)
	}
	if _, err := hex.Decode(e.fp[:], []byte(j.Fingerprint)); err != nil {
		return bad("idempotency key %q: bad fingerprint", j.Key)
	}
	s.idem.entries[j.Key] = e
	return nil
}
