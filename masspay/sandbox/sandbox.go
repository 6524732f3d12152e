package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrun/payrun/masspay"
	"github.com/rs/zerolog"
	"github.com/shopspring/decimal"
)

// apiPrefix is where the payout API lives; an official SDK uses the base
// http://HOST:PORT/v1.0.0 and paths starting with /payout/.
const apiPrefix = "/v1.0.0/payout"

// maxBody bounds request bodies.
const maxBody = 1 << 20

// Sandbox is the simulated MassPay API: an http.Handler serving
// /v1.0.0/payout/... and the sandbox-only /_sandbox/... endpoints.
type Sandbox struct {
	cfg    Config
	clock  Clock
	log    zerolog.Logger
	keySum [32]byte

	faultMu  sync.Mutex
	faults   Faults
	faultRng *rand.Rand
	limiter  *limiter

	idem     *idemStore
	requests requestCounter
	hooks    *webhookQueue
	store    *stateStore // nil without Config.StateFile
	dirty    *dirtySet   // what changed since the last write; nil without Config.StateFile; under mu

	// ver counts the changes of state a client may have seen; a state
	// file holding version ver is durable for every answer given so far.
	// It changes under mu.
	ver atomic.Uint64

	mu            sync.Mutex // guards everything below
	pcg           *rand.PCG  // rng's source, saved with the state
	rng           *rand.Rand
	seq           int
	timers        timers
	balances      map[string]*balance // by currency
	balanceTokens map[string]*balance // by token
	users         map[string]*user
	userList      []*user
	usersByEmail  map[string]*user // lower-case email
	usersByID     map[string]*user // internal_user_id
	attrSets      map[string]*attrSet
	lastAttrSet   map[string]*attrSet // user|destination -> latest set
	payouts       map[string]*payout
	payoutList    []*payout
	committedCTID map[string]*payout
	loads         map[string]*load
	loadList      []*load
	loadsByClient map[string]*load
	wallets       map[string]*wallet
	userWallets   map[string][]*wallet
	statement     []masspay.StatementRow
}

// New returns a Sandbox configured by cfg. When cfg.WebhookURL is set it
// starts a delivery goroutine that Close stops.
func New(cfg Config) (*Sandbox, error) {
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("new sandbox: %w", ErrNoAPIKey)
	}
	if cfg.IdempotencyRetention <= 0 {
		cfg.IdempotencyRetention = DefaultIdempotencyRetention
	}
	pcg := rand.NewPCG(uint64(cfg.Seed), 0x5bd1e995)
	s := &Sandbox{
		cfg:           cfg,
		clock:         cfg.Clock,
		log:           zerolog.Nop(),
		keySum:        sha256.Sum256([]byte(cfg.APIKey)),
		faultRng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		pcg:           pcg,
		rng:           rand.New(pcg),
		balances:      map[string]*balance{},
		balanceTokens: map[string]*balance{},
		users:         map[string]*user{},
		usersByEmail:  map[string]*user{},
		usersByID:     map[string]*user{},
		attrSets:      map[string]*attrSet{},
		lastAttrSet:   map[string]*attrSet{},
		payouts:       map[string]*payout{},
		committedCTID: map[string]*payout{},
		loads:         map[string]*load{},
		loadsByClient: map[string]*load{},
		wallets:       map[string]*wallet{},
		userWallets:   map[string][]*wallet{},
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if cfg.Logger != nil {
		s.log = *cfg.Logger
	}
	s.idem = newIdemStore(cfg.IdempotencyRetention)
	restored := false
	if cfg.StateFile != "" {
		s.store = newStateStore(cfg.StateFile)
		var err error
		if restored, err = s.loadState(); err != nil {
			return nil, fmt.Errorf("new sandbox: %w", err)
		}
		s.dirty = &dirtySet{}
		s.dirty.reset(len(s.statement))
	}
	if !restored {
		bals := cfg.Balances
		if bals == nil {
			bals = DefaultBalances()
		}
		curs := make([]string, 0, len(bals))
		for c := range bals {
			curs = append(curs, c)
		}
		sort.Strings(curs)
		for _, c := range curs {
			if _, ok := currencies[c]; !ok {
				return nil, fmt.Errorf("new sandbox: unknown currency %q", c)
			}
			s.addBalance(c, bals[c])
		}
	}
	if s.store != nil && !restored {
		// Save the fresh state at once: its balance tokens are what every
		// later request refers to, and a bad path fails here, not mid-run.
		if err := s.save(true); err != nil {
			return nil, fmt.Errorf("new sandbox: %w", err)
		}
	}
	s.limiter = newLimiter()
	s.SetFaults(cfg.Faults)
	s.hooks = newWebhookQueue(s)
	return s, nil
}

// addBalance creates the balance of currency c. Callers hold s.mu or own s.
func (s *Sandbox) addBalance(c string, amount decimal.Decimal) *balance {
	b := &balance{token: "clnt_wlt_" + s.uuid(), currency: c, amount: amount}
	s.balances[c] = b
	s.balanceTokens[b.token] = b
	return b
}

// uuid returns a random UUID-shaped string from the seeded generator, so
// tokens are reproducible. Callers hold s.mu or own s.
func (s *Sandbox) uuid() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := s.rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// Close stops webhook delivery and, with Config.StateFile, saves the state
// one last time (status changes the clock made since the last request
// included). It does not deliver pending webhooks; call FlushWebhooks first
// for that.
func (s *Sandbox) Close() error {
	s.hooks.stop()
	if s.store == nil {
		return nil
	}
	s.mu.Lock()
	s.catchUp(s.Now())
	s.mu.Unlock()
	if err := s.save(false); err != nil {
		return fmt.Errorf("close sandbox: %w", err)
	}
	return nil
}

// SetFaults replaces the injected faults.
func (s *Sandbox) SetFaults(f Faults) {
	s.faultMu.Lock()
	s.faults = f
	s.faultMu.Unlock()
	s.limiter.set(f.RateLimit)
}

// Faults returns the injected faults.
func (s *Sandbox) Faults() Faults {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults
}

// Now returns the sandbox clock's time.
func (s *Sandbox) Now() time.Time { return s.clock.Now().UTC() }

// Advance moves a manual clock forward by d, then runs every status change
// that became due and queues its webhooks. On a real clock it only runs what
// is due.
func (s *Sandbox) Advance(d time.Duration) {
	s.mu.Lock()
	if mc, ok := s.clock.(*ManualClock); ok && d > 0 {
		mc.Advance(d)
		s.ver.Add(1)
	}
	s.catchUp(s.Now())
	s.mu.Unlock()
	s.hooks.kick()
}

// Tick runs every status change due by now. Server calls it every second so
// that scheduled loads and status changes happen on a real clock even when
// no request arrives.
func (s *Sandbox) Tick() { s.Advance(0) }

// AdjustBalance adds delta (which may be negative) to the balance of
// currency, creating that balance when it does not exist.
func (s *Sandbox) AdjustBalance(currency string, delta decimal.Decimal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adjust(currency, delta)
	s.ver.Add(1)
}

func (s *Sandbox) adjust(currency string, delta decimal.Decimal) *balance {
	b := s.balances[currency]
	if b == nil {
		b = s.addBalance(currency, decimal.Zero)
	}
	b.amount = b.amount.Add(delta)
	s.record(b, "adjustment", delta, "sandbox balance adjustment", "", "")
	return b
}

// record appends a statement row for a movement of b. Callers hold s.mu.
func (s *Sandbox) record(b *balance, typ string, delta decimal.Decimal, notes, ctid, userToken string) {
	s.statement = append(s.statement, masspay.StatementRow{
		Token: b.token, Type: typ, TimeOfTxn: stamp(s.Now()), Amount: delta, CurrencyCode: b.currency,
		Balance: b.amount, Notes: notes, ClientTransferID: ctid, UserToken: userToken,
	})
}

// HoldUser puts a user on a compliance hold: status LOCKED, and every load
// or payout to it answers 403 with the returned document-upload link.
func (s *Sandbox) HoldUser(userToken string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userToken]
	if u == nil {
		return "", fmt.Errorf("hold user: %w", ErrNotFound)
	}
	s.hold(u)
	s.ver.Add(1)
	return u.kycLink, nil
}

// ReleaseUser lifts a compliance hold: the user is ACTIVE again.
func (s *Sandbox) ReleaseUser(userToken string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userToken]
	if u == nil {
		return fmt.Errorf("release user: %w", ErrNotFound)
	}
	u.Status = masspay.UserActive
	s.touchUser(u)
	s.ver.Add(1)
	return nil
}

func (s *Sandbox) hold(u *user) {
	if u.kycLink == "" {
		u.kycLink = "https://sandbox.masspay.example/kyc/upload/" + s.uuid()
	}
	u.Status = masspay.UserLocked
	s.touchUser(u)
}

// kycError is the 403 of a payout or load to a user on hold.
func kycError(u *user) *apiError {
	return &apiError{Status: http.StatusForbidden, Title: "Compliance hold",
		Message: "User is on a compliance hold. Documents required: " + u.kycLink,
		Code:    "KYC_HOLD", Reason: "kyc_hold", Details: []string{u.kycLink}}
}
