package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
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

	idem  *idemStore
	hooks *webhookQueue
	store *stateStore // nil without Config.StateFile
	dirty *dirtySet   // what changed since the last write; nil without Config.StateFile; under mu

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

// request is what a handler sees.
type request struct {
	r    *http.Request
	seg  []string
	q    url.Values
	body []byte
	// mutating is true for POST, PUT, PATCH and DELETE: requests that may
	// change state and take an Idempotency-Key.
	mutating bool
}

// handler serves one endpoint under s.mu and returns the answer.
type handler func(s *Sandbox, rq *request) (int, any, *apiError)

// answer is a finished response, kept for idempotent replays.
type answer struct {
	status int
	body   []byte
}

// ServeHTTP serves the API: authentication, routing, faults, idempotency,
// then the endpoint.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.log.GetLevel() > zerolog.DebugLevel {
		s.serve(w, r) // nothing to log: skip the clock reads too
		return
	}
	start := time.Now()
	status := s.serve(w, r)
	s.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Int("status", status).
		Dur("took", time.Since(start)).Msg("sandbox request")
}

func (s *Sandbox) serve(w http.ResponseWriter, r *http.Request) int {
	if !s.authorized(r) {
		e := &apiError{Status: http.StatusUnauthorized, Title: "Unauthorized", Message: "missing or invalid API key", Code: "UNAUTHORIZED"}
		writeError(w, e)
		return e.Status
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if strings.HasPrefix(path, "/_sandbox/") {
		return s.serveAdmin(w, r, strings.Split(strings.TrimPrefix(path, "/_sandbox/"), "/"))
	}
	if path != apiPrefix && !strings.HasPrefix(path, apiPrefix+"/") {
		writeError(w, notFound("no such path %s", r.URL.Path))
		return http.StatusNotFound
	}
	seg := strings.Split(strings.TrimPrefix(path, apiPrefix+"/"), "/")
	h, rerr := lookupRoute(r.Method, seg)
	if s.cfg.NoBestRoute && isBestPath(seg) {
		h, rerr = nil, notFound("no such path /%s", strings.Join(seg, "/"))
	}
	if rerr != nil {
		writeError(w, rerr)
		return rerr.Status
	}
	if st, ok := s.injectFaults(w, r); !ok {
		return st
	}
	lost := s.roll(func(f Faults) float64 { return f.LostResponseRate })
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		e := badField("body", "invalid_body", "request body could not be read or is larger than %d bytes", maxBody)
		writeError(w, e)
		return e.Status
	}
	rq := &request{r: r, seg: seg, q: r.URL.Query(), body: body,
		mutating: r.Method != http.MethodGet && r.Method != http.MethodHead}
	var a answer
	if key := r.Header.Get("Idempotency-Key"); key != "" && rq.mutating {
		now := s.Now()
		e, replay := s.idem.begin(key, fingerprint(r, body), now)
		if replay != nil {
			a = *replay
		} else {
			a = s.call(h, rq, func(a answer) {
				s.idem.finish(key, e, a, now)
				s.touchIdem(key) // under s.mu with a state file, as call runs it
			})
		}
	} else {
		a = s.call(h, rq, nil)
	}
	if err := s.sync(); err != nil {
		a = stateNotSaved
	}
	if lost && dropConnection(w) {
		return 0
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	w.Write(a.body)
	return a.status
}

// call runs h under the state lock after bringing the clock's due status
// changes up to date, and hands the answer to done (the idempotency record)
// when done is not nil. With a state file, done runs under the lock too, so
// that no snapshot holds the effect of a request without its record.
func (s *Sandbox) call(h handler, rq *request, done func(answer)) answer {
	s.mu.Lock()
	s.catchUp(s.Now())
	status, v, aerr := h(s, rq)
	if rq.mutating {
		s.ver.Add(1)
	}
	var a answer
	if done != nil && s.store != nil {
		a = encodeAnswer(status, v, aerr)
		done(a)
		s.mu.Unlock()
	} else {
		s.mu.Unlock()
		a = encodeAnswer(status, v, aerr)
		if done != nil {
			done(a)
		}
	}
	s.hooks.kick()
	return a
}

// encodeAnswer renders a handler's result as the JSON answer.
func encodeAnswer(status int, v any, aerr *apiError) answer {
	if aerr != nil {
		status, v = aerr.Status, aerr.body()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return answer{status: http.StatusInternalServerError, body: []byte(internalError + "\n")}
	}
	return answer{status: status, body: append(b, '\n')}
}

// bufWriter is a minimal in-memory http.ResponseWriter.
type bufWriter struct {
	header http.Header
	status int
	buf    []byte
}

func (b *bufWriter) Header() http.Header         { return b.header }
func (b *bufWriter) WriteHeader(status int)      { b.status = status }
func (b *bufWriter) Write(p []byte) (int, error) { b.buf = append(b.buf, p...); return len(p), nil }

// authorized accepts "Bearer KEY", "bearer KEY" and the bare key, compared in
// constant time.
func (s *Sandbox) authorized(r *http.Request) bool {
	v := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	if v == "" {
		return false
	}
	sum := sha256.Sum256([]byte(v))
	return subtle.ConstantTimeCompare(sum[:], s.keySum[:]) == 1
}

// dropConnection hijacks and closes the connection without writing an
// answer: the request was processed, the client will never know.
func dropConnection(w http.ResponseWriter) bool {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
