package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/masspay"
)

// stateOf is the whole state of s in its snapshot form, with map-ordered
// lists sorted and the journal position left out, so that two sandboxes
// holding the same state give the same bytes.
func stateOf(t *testing.T, s *Sandbox) string {
	t.Helper()
	s.mu.Lock()
	st, err := s.snapshot()
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	st.JournalSeq = 0
	sort.Slice(st.AttrSets, func(i, j int) bool { return st.AttrSets[i].Token < st.AttrSets[j].Token })
	sort.Slice(st.Idempotency, func(i, j int) bool { return st.Idempotency[i].Key < st.Idempotency[j].Key })
	sort.Slice(st.Timers, func(i, j int) bool { return st.Timers[i].Seq < st.Timers[j].Seq })
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// reopen loads the state file at path into a new sandbox, as the next
// process would after a kill: the running one is not closed first.
func reopen(t *testing.T, path string) *Sandbox {
	t.Helper()
	s, err := New(Config{APIKey: testKey, Seed: 7, StateFile: path, Clock: NewManualClock(t0)})
	if err != nil {
		t.Fatalf("reopen %s: %v", path, err)
	}
	return s
}

// journalScript is stateScript plus every other kind of change: a user
// updated, held and released, a balance adjusted, a load reversed, an
// autopay rule deleted, a refused commit, and the clock moved past the
// status changes.
func journalScript(h *harness) {
	h.t.Helper()
	tk, _ := stateScript(h)
	h.call(200, "PUT", "/user/"+tk.user, masspay.UpdateUser{Profile: masspay.Profile{Email: "ann.new@example.com", City: "Lisbon"}}, nil)
	h.call(200, "POST", "/_sandbox/users/"+tk.user+"/hold", nil, nil)
	h.call(200, "POST", "/_sandbox/users/"+tk.user+"/release", nil, nil)
	h.call(200, "POST", "/_sandbox/balance/adjust", map[string]any{"currency_code": "EUR", "amount": "12.5"}, nil)
	var ld masspay.LoadTxnResp
	h.call(200, "POST", "/load/"+tk.user, masspay.LoadTxn{ClientLoadID: "l-rev", SourceToken: h.sourceToken("USD"), Amount: dec("7")}, &ld)
	h.call(200, "DELETE", "/load/"+tk.user+"?load_token="+ld.LoadToken, nil, nil)
	var rules []masspay.AutopayRule
	h.call(200, "GET", "/wallet/"+tk.user+"/"+tk.wallet+"/autopayout", nil, &rules)
	h.call(200, "DELETE", "/wallet/"+tk.user+"/"+tk.wallet+"/autopayout?token="+rules[0].Token, nil, nil)
	q := h.initiate(tk.user, tk.dst, "ct-13", "30.13")
	h.commit(tk.user, q.PayoutToken)
	h.advance(3 * time.Minute)
	h.initiate(tk.user, tk.dst, "ct-4", "25.00")
	h.advance(40 * time.Minute)
}

// TestJournalReplaysToTheSameState checks the journal against the live
// state: a sandbox opened on the files of a running one (snapshot plus
// journal, as a kill -9 leaves them) holds exactly the same state, with
// compaction off and with compaction at every chance.
func TestJournalReplaysToTheSameState(t *testing.T) {
	for _, min := range []int64{1 << 20, 0} {
		t.Run(map[int64]string{1 << 20: "journal", 0: "compacting"}[min], func(t *testing.T) {
			old := compactMin
			compactMin = min
			t.Cleanup(func() { compactMin = old })
			path := filepath.Join(t.TempDir(), "state.json")
			h := start(t, func(c *Config) { c.StateFile = path })
			journalScript(h)
			live := stateOf(t, h.srv.Sandbox)
			if got := stateOf(t, reopen(t, path)); got != live {
				t.Fatalf("replayed state differs from the live one:\n%s", firstDiff(got, live))
			}
			if min != 0 {
				if fi, err := os.Stat(journalPath(path)); err != nil || fi.Size() == 0 {
					t.Errorf("no journal written: %v", err)
				}
			}
			for _, p := range []string{path, journalPath(path)} {
				if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: mode %v, err %v; want 0600", p, fi.Mode().Perm(), err)
				}
			}
		})
	}
}

// checkEach is an http.RoundTripper that runs check after every answered
// request that may change state.
type checkEach struct {
	base  http.RoundTripper
	check func(req *http.Request)
}

func (c checkEach) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err == nil && req.Method != http.MethodGet {
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil {
			return nil, rerr
		}
		c.check(req)
	}
	return resp, err
}

// TestJournalDurableAtEachAnswer opens the files after every answer of the
// script: each answer's change must already be on disk, not carried by a
// later line (which a kill could lose).
func TestJournalDurableAtEachAnswer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	h := start(t, func(c *Config) { c.StateFile = path })
	n := 0
	h.hc.Transport = checkEach{base: http.DefaultTransport, check: func(req *http.Request) {
		n++
		live := stateOf(t, h.srv.Sandbox)
		if got := stateOf(t, reopen(t, path)); got != live {
			t.Fatalf("after %s %s the files hold another state:\n%s", req.Method, req.URL.Path, firstDiff(got, live))
		}
	}}
	journalScript(h)
	if n < 20 {
		t.Errorf("only %d answers checked", n)
	}
}

// TestJournalCompactionCrash stops a compaction at each of its steps, as a
// kill would, and opens the files left behind: every step must load to the
// state the last answer showed, and the reopened sandbox must go on
// journaling from there.
func TestJournalCompactionCrash(t *testing.T) {
	for _, step := range []string{"temp", "renamed", "truncated"} {
		t.Run(step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			h := start(t, func(c *Config) { c.StateFile = path })
			journalScript(h)
			live := stateOf(t, h.srv.Sandbox)
			crash := errors.New("crash")
			compactStep = func(s string) error {
				if s == step {
					return crash
				}
				return nil
			}
			err := h.srv.save(true)
			compactStep = nil
			if !errors.Is(err, crash) {
				t.Fatalf("compaction did not stop at %s: %v", step, err)
			}
			s := reopen(t, path)
			if got := stateOf(t, s); got != live {
				t.Fatalf("state after a crash at %s differs:\n%s", step, firstDiff(got, live))
			}
			// Go on from the reopened files: one more change, then a
			// crash (no Close) and a third open.
			s.AdjustBalance("USD", dec("-1"))
			if err := s.sync(); err != nil {
				t.Fatal(err)
			}
			want := stateOf(t, s)
			if got := stateOf(t, reopen(t, path)); got != want {
				t.Fatalf("state after journaling on from a crash at %s differs:\n%s", step, firstDiff(got, want))
			}
		})
	}
}

// TestJournalCutAndDamagedLines: a cut last line (a write a crash
// interrupted) is dropped and the rest loads; a damaged line with whole
// lines after it is an error naming the journal.
func TestJournalCutAndDamagedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	h := start(t, func(c *Config) { c.StateFile = path })
	journalScript(h)
	live := stateOf(t, h.srv.Sandbox)
	jp := journalPath(path)
	good, err := os.ReadFile(jp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jp, append(append([]byte{}, good...), `{"seq":999,"now":"2025-`...), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, reopen(t, path)); got != live {
		t.Fatalf("a cut last line changed the state:\n%s", firstDiff(got, live))
	}
	if b, _ := os.ReadFile(jp); string(b) != string(good) {
		t.Errorf("the cut line was not dropped from the journal (%d bytes, want %d)", len(b), len(good))
	}
	lines := strings.SplitAfter(string(good), "\n")
	if len(lines) < 3 {
		t.Fatalf("journal too short for the test: %d lines", len(lines))
	}
	lines[1] = "{garbage\n"
	if err := os.WriteFile(jp, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{APIKey: testKey, StateFile: path}); err == nil || !strings.Contains(err.Error(), jp) {
		t.Errorf("a damaged journal line: err %v, want an error naming %s", err, jp)
	}
}

// TestStateFileVersion1Loads: a whole-state file written before the journal
// (version 1, no journal) loads, and journals on from there.
func TestStateFileVersion1Loads(t *testing.T) {
	dir := t.TempDir()
	h := start(t, func(c *Config) { c.StateFile = filepath.Join(dir, "new.json") })
	journalScript(h)
	live := stateOf(t, h.srv.Sandbox)
	h.srv.mu.Lock()
	st, err := h.srv.snapshot()
	h.srv.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	st.Version, st.JournalSeq = 1, 0
	data, _ := json.Marshal(st)
	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := reopen(t, old)
	if got := stateOf(t, s); got != live {
		t.Fatalf("a version 1 file loads differently:\n%s", firstDiff(got, live))
	}
	s.AdjustBalance("EUR", dec("1"))
	if err := s.sync(); err != nil {
		t.Fatal(err)
	}
	want := stateOf(t, s)
	if got := stateOf(t, reopen(t, old)); got != want {
		t.Fatalf("journaling on from a version 1 file:\n%s", firstDiff(got, want))
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) && i < len(w); i++ {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: got  %s\n         want %s", i+1, g[i], w[i])
		}
	}
	return "lengths differ"
}

// TestJournalWithoutSnapshotIsNotReplayed: deleting the state file starts a
// new sandbox; the journal left beside it belongs to the deleted state and
// is emptied, not replayed onto the new one.
func TestJournalWithoutSnapshotIsNotReplayed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	h := start(t, func(c *Config) { c.StateFile = path })
	journalScript(h)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s := reopen(t, path)
	if a := s.Audit(); len(a.Payouts) != 0 || len(a.Loads) != 0 {
		t.Errorf("a new sandbox holds %d payouts and %d loads of the deleted state", len(a.Payouts), len(a.Loads))
	}
	if fi, err := os.Stat(journalPath(path)); err != nil || fi.Size() != 0 {
		t.Errorf("the old journal was not emptied: %v", err)
	}
	want := stateOf(t, s)
	if got := stateOf(t, reopen(t, path)); got != want {
		t.Errorf("the new sandbox does not reload:\n%s", firstDiff(got, want))
	}
}
