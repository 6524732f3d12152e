package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// writeFreelancerSheet writes a CSV of the given rows of
// samples/monthly-freelancers.csv (1-based), ids renumbered with prefix; a
// row given twice is the same payee paid twice.
func writeFreelancerSheet(t *testing.T, path, prefix string, rows ...int) {
	t.Helper()
	recs := readCSV(t, "../../samples/monthly-freelancers.csv")
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(recs[0])
	seen := map[int]bool{}
	for i, r := range rows {
		rec := append([]string{}, recs[r]...)
		rec[0] = fmt.Sprintf("%s-%02d", prefix, i)
		if seen[r] {
			rec[7] = fmt.Sprintf("%d.%02d", 10+i, 20+i) // not a duplicate line
		}
		seen[r] = true
		w.Write(rec)
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStaleCachedPayeeTokens: the ledger caches payee tokens that this
// MassPay no longer knows (here: the sandbox's state was deleted, as when a
// ledger meets a MassPay other than the one it was filled against). plan
// exited 3 on the 404 of the attributes check, and run made every row
// FAILED ("user ... not found"). Both must look the payee up again, once
// per payee, pay, and cache the new token.
func TestStaleCachedPayeeTokens(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "p.db")
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	// Loads and payouts; row 1's payee twice in b.
	writeFreelancerSheet(t, a, "A", 1, 2, 151, 152, 156)
	writeFreelancerSheet(t, b, "B", 1, 2, 151, 152, 156, 1, 151)
	env := map[string]string{}
	if code, out, errs := runIn(t, env, "run", "--sandbox", "--yes", "--ledger", db, "--out", filepath.Join(dir, "a.xlsx"), a); code != 0 {
		t.Fatalf("first run exit %d\n%s\n%s", code, out, errs)
	}
	old := cachedTokens(t, db)
	if len(old) != 5 {
		t.Fatalf("cache after the first run: %v", old)
	}
	// A MassPay that never saw these payees.
	for _, f := range []string{"p.sandbox.json", "p.sandbox.json.journal"} {
		os.Remove(filepath.Join(dir, f))
	}

	// A payout to a payee never cached: its details are read through the
	// ledger's last cached payee, stale too (this looped forever).
	c := filepath.Join(dir, "c.csv")
	writeFreelancerSheet(t, c, "C", 153)
	if code, out, errs := runIn(t, env, "plan", "--sandbox", "--ledger", db, "--out", filepath.Join(dir, "c.plan.xlsx"), c); code != 0 {
		t.Fatalf("plan of a new payee with stale cached payee tokens: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs := runIn(t, env, "plan", "--sandbox", "--ledger", db, "--out", filepath.Join(dir, "b.plan.xlsx"), b)
	if code != 0 {
		t.Fatalf("plan with stale cached payee tokens: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runIn(t, env, "run", "--sandbox", "--yes", "--ledger", db, "--out", filepath.Join(dir, "b.xlsx"), b)
	if code != 0 {
		st, sout, _ := runIn(t, env, "status", "--ledger", db)
		t.Fatalf("run with stale cached payee tokens: exit %d\n%s\n%s\nstatus (%d):\n%s", code, out, errs, st, sout)
	}
	fresh := cachedTokens(t, db)
	for id, tok := range old {
		if fresh[id] == "" || fresh[id] == tok {
			t.Errorf("payee %s: cache still %q after MassPay said it does not know it (now %q)", id, tok, fresh[id])
		}
	}
	l, err := ledger.Open(context.Background(), db, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	perRow, payees := map[string]int{}, map[string]bool{}
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(ev.Message, msgPayeeLookedUpAgain) {
			perRow[ev.TransferID]++
			payees[strings.Fields(ev.Message)[5]] = true
		}
	}
	if len(payees) != 5 || len(perRow) != 7 {
		t.Errorf("payees looked up again: %v, rows moved to them: %v; want 5 payees, 7 rows", payees, perRow)
	}
	for id, n := range perRow {
		if n != 1 {
			t.Errorf("row %s moved to a fresh payee token %d times, want once", id, n)
		}
	}
	for _, pair := range [][2]string{{"B-00", "B-05"}, {"B-02", "B-06"}} {
		r1, err1 := l.Row(context.Background(), pair[0])
		r2, err2 := l.Row(context.Background(), pair[1])
		if err1 != nil || err2 != nil || r1.UserToken != r2.UserToken || r1.UserToken != fresh[r1.InternalUserID] {
			t.Errorf("rows %v of one payee: tokens %q, %q, cache %q (%v %v)", pair, r1.UserToken, r2.UserToken, fresh[r1.InternalUserID], err1, err2)
		}
	}
}

// msgPayeeLookedUpAgain starts the event the runner records when a cached
// payee token turned out stale.
const msgPayeeLookedUpAgain = "cached payee token"

func cachedTokens(t *testing.T, db string) map[string]string {
	t.Helper()
	l, err := ledger.Open(context.Background(), db, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out := map[string]string{}
	for _, id := range []string{"fl-usa-001", "fl-mex-002", "fl-usa-151", "fl-mex-152", "fl-gbr-156"} {
		tok, ok, err := l.UserToken(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out[id] = tok
		}
	}
	return out
}
