package torture

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/payrun/payrun/masspay/sandbox"
)

// hostileAnswer is what the proxy answers instead of MassPay.
type hostileAnswer int

const (
	ansEmpty200      hostileAnswer = iota // 200 with no body
	ansUnknownStatus                      // 200 whose "status" is undocumented
	ansBare409                            // 409 without a MassPay code
	ans400                                // 400 without a documented refusal code
	ans500                                // 500
	ansReset                              // the connection is reset, no answer
)

var answerNames = [...]string{"empty-200", "unknown-status", "bare-409", "400", "500", "reset"}

// unknownStatus is the status string no MassPay document lists.
const unknownStatus = "IN_REVIEW_HOSTILE"

// callKind is a MassPay call the proxy recognises.
type callKind int

const (
	callOther    callKind = iota // never meddled with (users, routes, attributes, balances)
	callLoad                     // POST /load/{user}: moves money
	callInitiate                 // POST /{user}: the quote a commit moves money on
	callCommit                   // PUT /{user}/{payout}: moves money
	callLoads                    // GET /load/{user}: settles a load
	callPayout                   // GET /{user}/{payout}: settles a payout
	callPayouts                  // GET /{user}: settles a payout
	callHistory                  // GET /user/{user}/history: settles a payout
)

// classify names the call of method and path (under /v1.0.0/payout).
func classify(method, path string) callKind {
	rest, ok := strings.CutPrefix(path, "/v1.0.0/payout/")
	if !ok {
		return callOther
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	user := func(s string) bool { return strings.HasPrefix(s, "usr_") }
	switch {
	case len(seg) == 2 && seg[0] == "load" && method == http.MethodPost:
		return callLoad
	case len(seg) == 2 && seg[0] == "load" && method == http.MethodGet:
		return callLoads
	case len(seg) == 3 && seg[0] == "user" && seg[2] == "history" && method == http.MethodGet:
		return callHistory
	case len(seg) == 1 && user(seg[0]) && method == http.MethodPost:
		return callInitiate
	case len(seg) == 1 && user(seg[0]) && method == http.MethodGet:
		return callPayouts
	case len(seg) == 2 && user(seg[0]) && method == http.MethodPut:
		return callCommit
	case len(seg) == 2 && user(seg[0]) && method == http.MethodGet:
		return callPayout
	}
	return callOther
}

// hostileMode is one way the answers go wrong. Seeds cycle through the
// modes, so a seed names its mode.
type hostileMode struct {
	name    string
	answers []hostileAnswer // what a meddled request may get
	// rate is the range the share of meddled requests is drawn from, per
	// scenario: high enough to hit most rows, low enough that runs progress.
	rate [2]float64
	// forwardOnly meddles only after MassPay applied the request.
	forwardOnly bool
	// calls restricts meddling to these calls; nil means every money call
	// and the calls around them.
	calls []callKind
	// lapse is the share of commits before which the clock jumps 3 minutes,
	// past the quote: MassPay answers ex_rate_expired (a documented answer)
	// and the runner takes a fresh quote, which reading (a) is about.
	lapse float64
	// readingA: MassPay answers DUPLICATE to an initiate whose
	// client_transfer_id was used before under another Idempotency-Key,
	// committed or not (issue 17, case 8a). Stays on while settling: it is
	// how MassPay reads its contract, not a fault.
	readingA bool
	// readingB: MassPay answers a second load of a client_load_id it already
	// loaded with a 409 whose code is not DUPLICATE, whatever the key
	// (issue 17, case 8b). Stays on while settling.
	readingB bool
	// strict: only unknown outcomes and documented answers are injected, so
	// every row must end as against a plain sandbox (paid, loaded, or
	// NEEDS_ACTION for a KYC hold or missing detail).
	strict bool
}

var hostileModes = []hostileMode{
	{name: "mixed", answers: []hostileAnswer{ansEmpty200, ansUnknownStatus, ansBare409, ans400, ans500, ansReset},
		rate: [2]float64{0.1, 0.3}, lapse: 0.1},
	{name: "unknowns", answers: []hostileAnswer{ans500, ansReset}, rate: [2]float64{0.1, 0.4}, lapse: 0.1, strict: true},
	{name: "empty-200", answers: []hostileAnswer{ansEmpty200}, rate: [2]float64{0.1, 0.3}},
	{name: "unknown-status", answers: []hostileAnswer{ansUnknownStatus}, rate: [2]float64{0.1, 0.3}},
	{name: "bare-409", answers: []hostileAnswer{ansBare409}, rate: [2]float64{0.1, 0.3}},
	{name: "400", answers: []hostileAnswer{ans400}, rate: [2]float64{0.1, 0.3}},
	{name: "reading-a", lapse: 0.5, readingA: true, strict: true},
	{name: "reading-b", answers: []hostileAnswer{ansReset}, rate: [2]float64{0.3, 0.5}, forwardOnly: true,
		calls: []callKind{callLoad}, readingB: true, strict: true},
}

// hostileModeOf is the mode of seed (seeds count from 1).
func hostileModeOf(seed uint64) hostileMode {
	return hostileModes[(seed-1)%uint64(len(hostileModes))]
}

// hostileProxy is the proxy. Every choice comes from its seeded generator,
// in request order; with one worker and the manual clock a seed replays.
type hostileProxy struct {
	target string // the sandbox, http://127.0.0.1:port
	mode   hostileMode
	clock  *sandbox.ManualClock
	hc     *http.Client

	mu       sync.Mutex
	rng      *rand.Rand
	rate     float64
	faults   bool // off for the settling runs; readings stay
	n        int
	trace    []string
	ctidKeys map[string]map[string]bool // reading (a): keys each client_transfer_id reached MassPay under
	dupKeys  map[string]bool            // reading (a): keys answered DUPLICATE, replayed as such
	loaded   map[string]bool            // reading (b): client_load_ids MassPay loaded
	meddled  int
}

func newHostileProxy(target string, mode hostileMode, clock *sandbox.ManualClock, seed uint64) *hostileProxy {
	rng := rand.New(rand.NewPCG(seed, 0x4057))
	rate := mode.rate[0] + rng.Float64()*(mode.rate[1]-mode.rate[0])
	return &hostileProxy{target: target, mode: mode, clock: clock, rng: rng, rate: rate, faults: true,
		hc:       &http.Client{Transport: &http.Transport{}},
		ctidKeys: map[string]map[string]bool{}, dupKeys: map[string]bool{}, loaded: map[string]bool{}}
}

func (p *hostileProxy) setFaults(on bool) {
	p.mu.Lock()
	p.faults = on
	p.mu.Unlock()
}

// eligible reports whether the mode meddles with calls of kind k.
func (p *hostileProxy) eligible(k callKind) bool {
	if k == callOther || len(p.mode.answers) == 0 {
		return false
	}
	if p.mode.calls == nil {
		return true
	}
	for _, c := range p.mode.calls {
		if c == k {
			return true
		}
	}
	return false
}

func (p *hostileProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	kind := classify(r.Method, r.URL.Path)
	key := r.Header.Get("Idempotency-Key")
	var ids struct {
		CTID string `json:"client_transfer_id"`
		CLID string `json:"client_load_id"`
	}
	_ = json.Unmarshal(body, &ids)

	p.mu.Lock()
	p.n++
	n := p.n
	// A reading is how MassPay answers, so it comes before any fault.
	reading := ""
	switch {
	case p.mode.readingA && kind == callInitiate && ids.CTID != "":
		used := p.ctidKeys[ids.CTID]
		if p.dupKeys[key] || (len(used) > 0 && !used[key]) {
			reading = "reading-a DUPLICATE"
			p.dupKeys[key] = true
		}
	case p.mode.readingB && kind == callLoad && p.loaded[ids.CLID]:
		reading = "reading-b 409 LOAD_EXISTS"
	}
	meddle, forward, ans := false, true, hostileAnswer(0)
	if reading == "" && p.faults && p.eligible(kind) && p.rng.Float64() < p.rate {
		meddle = true
		ans = p.mode.answers[p.rng.IntN(len(p.mode.answers))]
		forward = p.mode.forwardOnly || p.rng.IntN(2) == 0
		p.meddled++
	}
	lapse := reading == "" && forward && p.faults && kind == callCommit && p.mode.lapse > 0 && p.rng.Float64() < p.mode.lapse
	what := "pass"
	switch {
	case reading != "":
		what = reading
	case meddle && forward:
		what = "forward, then " + answerNames[ans]
	case meddle:
		what = answerNames[ans] + " (not forwarded)"
	}
	if lapse {
		what += " after the quote lapsed"
		p.clock.Advance(3 * time.Minute)
	}
	p.trace = append(p.trace, fmt.Sprintf("%d %s %s key=%s %s", n, r.Method, r.URL.Path, key, what))
	p.mu.Unlock()

	switch reading {
	case "reading-a DUPLICATE":
		writeRaw(w, http.StatusOK, "application/json", fmt.Sprintf(
			`{"payout_token":"DUPLICATE","client_transfer_id":%q,"status":"ERROR","status_reason":"client_transfer_id already used"}`, ids.CTID))
		return
	case "reading-b 409 LOAD_EXISTS":
		writeRaw(w, http.StatusConflict, "application/json",
			`{"title":"Conflict","message":"a load with this client_load_id already exists","code":"LOAD_EXISTS"}`)
		return
	}
	if meddle && !forward {
		p.answer(w, ans, nil)
		return
	}
	status, hdr, ansBody, err := p.forward(r, body)
	if err != nil {
		http.Error(w, "hostile proxy: sandbox unreachable: "+err.Error(), http.StatusBadGateway)
		return
	}
	if kind == callInitiate && ids.CTID != "" && status == http.StatusOK {
		p.mu.Lock()
		if p.ctidKeys[ids.CTID] == nil {
			p.ctidKeys[ids.CTID] = map[string]bool{}
		}
		p.ctidKeys[ids.CTID][key] = true
		p.mu.Unlock()
	}
	if kind == callLoad && status == http.StatusOK {
		p.mu.Lock()
		p.loaded[ids.CLID] = true
		p.mu.Unlock()
	}
	if meddle {
		if status >= 300 {
			ansBody = nil // an unknown status replaces a refusal with a made-up 200
		}
		p.answer(w, ans, ansBody)
		return
	}
	for k, vs := range hdr {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(ansBody)
}

// forward sends the request to the sandbox and reads the whole answer.
func (p *hostileProxy) forward(r *http.Request, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header = r.Header.Clone()
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// answer writes the hostile answer; real is MassPay's 2xx answer when the
// request was forwarded, whose status fields an unknown status replaces.
func (p *hostileProxy) answer(w http.ResponseWriter, ans hostileAnswer, real []byte) {
	switch ans {
	case ansEmpty200:
		writeRaw(w, http.StatusOK, "application/json", "")
	case ansUnknownStatus:
		writeRaw(w, http.StatusOK, "application/json", string(withUnknownStatus(real)))
	case ansBare409:
		writeRaw(w, http.StatusConflict, "text/plain", "409 Conflict")
	case ans400:
		writeRaw(w, http.StatusBadRequest, "application/json", `{"title":"Bad Request","message":"the request could not be processed"}`)
	case ans500:
		writeRaw(w, http.StatusInternalServerError, "application/json", `{"title":"Internal Server Error","message":"upstream failure","code":"500"}`)
	case ansReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("hostile proxy: the server cannot hijack connections")
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST, not FIN
		}
		conn.Close()
	}
}

// withUnknownStatus replaces every "status" of a JSON object or array of
// objects with unknownStatus; anything else becomes {"status": ...}.
func withUnknownStatus(real []byte) []byte {
	var obj map[string]any
	if json.Unmarshal(real, &obj) == nil && obj != nil {
		obj["status"] = unknownStatus
		b, _ := json.Marshal(obj)
		return b
	}
	var arr []map[string]any
	if json.Unmarshal(real, &arr) == nil && len(arr) > 0 {
		for _, o := range arr {
			o["status"] = unknownStatus
		}
		b, _ := json.Marshal(arr)
		return b
	}
	return []byte(`{"status":"` + unknownStatus + `"}`)
}

func writeRaw(w http.ResponseWriter, status int, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
