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
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/shopspring/decimal"
)

// stateVersion is the format version of a state file. Version 1 files
// (whole-state snapshots written at every group commit, no journal) load as
// a snapshot with an empty journal.
const stateVersion = 2

// Compaction: the journal is folded into a new snapshot once it is larger
// than compactFactor times the snapshot plus compactMin bytes, so that the
// bytes written per change stay constant however big the state grows.
// They are variables for the tests that compact at every chance.
var (
	compactFactor int64 = 2
	compactMin    int64 = 1 << 20
)

// stateNotSaved is the answer given instead of the real one when the state
// file could not be written: the client must not take for done what a crash
// could forget.
var stateNotSaved = errAnswer(&apiError{Status: http.StatusInternalServerError, Title: "Internal Server Error",
	Message: "the sandbox could not save its state file; retry the request with the same Idempotency-Key",
	Code:    "STATE_NOT_SAVED"})

// stateStore keeps a Sandbox's state in a snapshot file (path) and an
// append-only journal beside it (path + ".journal"), one JSON line per group
// commit holding what changed since the line before. A request waits until
// a journal line at least as new as what it saw is fsync'd, and one write
// covers every request that arrived before it began. A whole-state rewrite
// at each commit made a run slow down as the state grew; a journal line
// costs what the commit changed.
type stateStore struct {
	path    string
	mu      sync.Mutex
	cond    *sync.Cond
	writing bool
	saved   uint64 // version on disk
	failed  uint64 // version of the last failed write
	err     error  // error of that write

	// Owned by the one writer (writing true), or by New before serving.
	journal  *os.File // opened O_APPEND; nil until the first snapshot
	jsize    int64    // bytes in the journal
	snapSize int64    // bytes in the snapshot
	jseq     uint64   // sequence number of the last journal line written or tried
	needSnap bool     // a journal write failed: the next write is a snapshot
}

func newStateStore(path string) *stateStore {
	st := &stateStore{path: path}
	st.cond = sync.NewCond(&st.mu)
	return st
}

// journalPath is where the journal of the snapshot at path lives.
func journalPath(path string) string { return path + ".journal" }

// compactStep, when set by a test, is called at each step of a compaction
// ("temp", "renamed", "truncated"); an error stops the compaction there, as
// a crash would.
var compactStep func(step string) error

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
		got, err := s.write(false)
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

// save writes the state now, whatever is already on disk: a whole snapshot
// when full, else a journal line.
func (s *Sandbox) save(full bool) error {
	s.store.mu.Lock()
	for s.store.writing {
		s.store.cond.Wait()
	}
	s.store.writing = true
	s.store.mu.Unlock()
	got, err := s.write(full)
	s.store.mu.Lock()
	s.store.writing = false
	if err == nil && got > s.store.saved {
		s.store.saved = got
	}
	s.store.cond.Broadcast()
	s.store.mu.Unlock()
	return err
}

// write takes what changed (or, to compact, the whole state) under s.mu,
// then encodes and writes it outside the lock. It returns the version
// written. Callers are the one writer.
func (s *Sandbox) write(full bool) (uint64, error) {
	st := s.store
	s.mu.Lock()
	v := s.ver.Load()
	if full || st.needSnap || st.journal == nil || st.jsize > compactFactor*st.snapSize+compactMin {
		snap, err := s.snapshot()
		s.dirty.reset(len(s.statement))
		s.mu.Unlock()
		if err != nil {
			return v, fmt.Errorf("save sandbox state: %w", err)
		}
		// Set before writing: a failed snapshot is retried in full.
		st.needSnap = true
		snap.JournalSeq = st.jseq
		if err := s.compact(snap); err != nil {
			return v, fmt.Errorf("save sandbox state: %w", err)
		}
		st.needSnap = false
		return v, nil
	}
	st.jseq++
	rec, err := s.delta(st.jseq)
	s.mu.Unlock()
	if err != nil {
		st.needSnap = true
		return v, fmt.Errorf("save sandbox state: %w", err)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		st.needSnap = true
		return v, fmt.Errorf("save sandbox state: %w", err)
	}
	data = append(data, '\n')
	// The line is written by one write(2) and ends in the only newline it
	// holds, so a crash leaves at worst a cut last line, which loading
	// drops: its answers were never sent.
	_, err = st.journal.Write(data)
	if err == nil {
		err = st.journal.Sync()
	}
	if err != nil {
		// The dirty marks are gone and the file may end in a cut line:
		// only a whole snapshot (which also empties the journal) is safe
		// now. jseq stays advanced so that this line, if it did reach
		// the disk, is older than that snapshot and never replayed.
		st.needSnap = true
		return v, fmt.Errorf("save sandbox state: append to journal %s: %w", st.journal.Name(), err)
	}
	st.jsize += int64(len(data))
	return v, nil
}

// compact writes snap as the new snapshot and empties the journal. Each step
// leaves a loadable pair: until the rename the old snapshot and the whole
// journal stand; after it the new snapshot stands, and the journal lines it
// already holds (sequence numbers up to snap.JournalSeq) are skipped on load.
func (s *Sandbox) compact(snap *stateJSON) error {
	st := s.store
	data, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(st.path, data); err != nil {
		return err
	}
	if compactStep != nil {
		if err := compactStep("renamed"); err != nil {
			return err
		}
	}
	st.snapSize = int64(len(data))
	if st.journal == nil {
		f, err := os.OpenFile(journalPath(st.path), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open journal: %w", err)
		}
		st.journal = f
	}
	if err := st.journal.Truncate(0); err != nil {
		return fmt.Errorf("truncate journal: %w", err)
	}
	if err := st.journal.Sync(); err != nil {
		return fmt.Errorf("truncate journal: %w", err)
	}
	st.jsize = 0
	if compactStep != nil {
		if err := compactStep("truncated"); err != nil {
			return err
		}
	}
	return nil
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
	if err == nil && compactStep != nil {
		err = compactStep("temp")
		if err != nil {
			f.Close()
			return err // a crash here leaves the temp file behind
		}
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

// dirtySet names what changed since the last journal line or snapshot.
// Entities are kept in the order of their first change, which for new ones
// is the order of creation: replay appends them to the lists in that order.
// It is guarded by Sandbox.mu and nil without a state file, so that marking
// costs nothing then.
type dirtySet struct {
	seen        map[any]bool
	users       []*user
	wallets     []*wallet
	attrSets    []*attrSet
	payouts     []*payout
	loads       []*load
	lastAttrSet map[string]bool
	idem        map[string]bool
	timersAdded []*timer
	timersDone  []int
	stmt        int // statement rows already on disk
}

func (d *dirtySet) reset(stmt int) {
	*d = dirtySet{seen: map[any]bool{}, lastAttrSet: map[string]bool{}, idem: map[string]bool{}, stmt: stmt}
}

// mark reports whether x is changed for the first time since the last write.
func (d *dirtySet) mark(x any) bool {
	if d == nil || d.seen[x] {
		return false
	}
	d.seen[x] = true
	return true
}

// Marks of changed state, for the journal. Callers hold s.mu.
func (s *Sandbox) touchUser(u *user) {
	if s.dirty.mark(u) {
		s.dirty.users = append(s.dirty.users, u)
	}
}

func (s *Sandbox) touchWallet(w *wallet) {
	if s.dirty.mark(w) {
		s.dirty.wallets = append(s.dirty.wallets, w)
	}
}

func (s *Sandbox) touchAttrSet(a *attrSet, lastKey string) {
	if s.dirty.mark(a) {
		s.dirty.attrSets = append(s.dirty.attrSets, a)
	}
	if s.dirty != nil && lastKey != "" {
		s.dirty.lastAttrSet[lastKey] = true
	}
}

func (s *Sandbox) touchPayout(p *payout) {
	if s.dirty.mark(p) {
		s.dirty.payouts = append(s.dirty.payouts, p)
	}
}

func (s *Sandbox) touchLoad(l *load) {
	if s.dirty.mark(l) {
		s.dirty.loads = append(s.dirty.loads, l)
	}
}

func (s *Sandbox) touchIdem(key string) {
	if s.dirty != nil {
		s.dirty.idem[key] = true
	}
}

func (s *Sandbox) timerAdded(t *timer) {
	if s.dirty != nil {
		s.dirty.timersAdded = append(s.dirty.timersAdded, t)
	}
}

func (s *Sandbox) timerDone(t *timer) {
	if s.dirty != nil {
		s.dirty.timersDone = append(s.dirty.timersDone, t.seq)
	}
}

// delta copies what changed into a journal line and clears the marks.
// Callers hold s.mu.
func (s *Sandbox) delta(seq uint64) (*journalJSON, error) {
	rng, err := s.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	d := s.dirty
	j := &journalJSON{Seq: seq, Now: s.Now(), RNG: rng, Counter: s.seq, Balances: s.balancesJSON()}
	for _, u := range d.users {
		j.Users = append(j.Users, userToJSON(u))
	}
	for _, a := range d.attrSets {
		j.AttrSets = append(j.AttrSets, attrSetToJSON(a))
	}
	if len(d.lastAttrSet) > 0 {
		j.LastAttrSet = make(map[string]string, len(d.lastAttrSet))
		for k := range d.lastAttrSet {
			j.LastAttrSet[k] = s.lastAttrSet[k].token
		}
	}
	for _, w := range d.wallets {
		j.Wallets = append(j.Wallets, walletJSON{Wallet: w.Wallet, Rules: rulesOf(w)})
	}
	for _, p := range d.payouts {
		j.Payouts = append(j.Payouts, payoutToJSON(p))
	}
	for _, l := range d.loads {
		j.Loads = append(j.Loads, loadToJSON(l))
	}
	j.Statement = s.statement[d.stmt:len(s.statement):len(s.statement)]
	for _, t := range d.timersAdded {
		j.TimersAdded = append(j.TimersAdded, timerJSON{At: t.at, Seq: t.seq, Kind: t.kind, Token: t.token})
	}
	j.TimersDone = d.timersDone
	s.idem.mu.Lock()
	for k := range d.idem {
		if e := s.idem.entries[k]; e != nil && e.done {
			j.Idempotency = append(j.Idempotency, idemToJSON(k, e))
		} else {
			j.IdemDropped = append(j.IdemDropped, k)
		}
	}
	s.idem.mu.Unlock()
	d.reset(len(s.statement))
	return j, nil
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
	return attrSetJSON{Token: a.token, UserToken: a.userToken, DestToken: a.destToken, Values: vals}
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
		a.values = j.Values
		return
	}
	s.attrSets[j.Token] = &attrSet{token: j.Token, userToken: j.UserToken, destToken: j.DestToken, values: j.Values}
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
