package sandbox

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
