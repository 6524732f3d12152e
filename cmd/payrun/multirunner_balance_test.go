//go:build unix

package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/masspay/sandbox"
)

// A runner joining a run on PostgreSQL leaves out of its balance check the
// rows the other runner is paying: runner A's wallet loads reached MassPay
// (the balance went down) and their answers are held back, so A's rows are
// still in flight under live claims when B starts. The balance covers the
// sheet with 60 USD to spare. Before, B counted A's in-flight rows again,
// found the balance 340 USD short and paid nothing; now it pays the rows no
// one holds, A's answers arrive, and every row is loaded exactly once.
func TestJoiningRunnerLeavesOutRowsPaidByTheOther(t *testing.T) {
	pgURL := pgtest.URL(t)
	const n = 20
	sb, err := sandbox.New(sandbox.Config{APIKey: sandboxKey, Balances: map[string]decimal.Decimal{
		"USD": decimal.RequireFromString(fmt.Sprintf("%d.00", n*100+60))}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	base := srv.URL + "/v1.0.0/payout"

	// A's way to MassPay: loads go through and their answers wait for
	// release.
	release := make(chan struct{})
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(open)
	var held atomic.Int32
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.Contains(r.URL.Path, "/payout/load/") {
			rp.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		held.Add(1)
		<-release
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(proxy.Close)

	dir := t.TempDir()
	sheet := filepath.Join(dir, "june.xlsx")
	var rows [][]string
	for i := 1; i <= n; i++ {
		rows = append(rows, []string{fmt.Sprintf("JB-%04d", i), fmt.Sprintf("jb-u%03d", i), "Pat", fmt.Sprintf("Payee%03d", i),
			fmt.Sprintf("payee%03d@jb.example.com", i), "USA", "load", "100.00", "USD", "", "", "", "", "", ""})
	}
	writeRunXLSX(t, sheet, rows)

	var errA, errB bytes.Buffer
	a := startRunner(t, pgURL, proxy.URL+"/v1.0.0/payout", sheet, filepath.Join(dir, "a.xlsx"), &errA)
	for deadline := time.Now().Add(60 * time.Second); held.Load() < 4; {
		if time.Now().After(deadline) {
			t.Fatalf("runner A sent %d loads in 60 s\n%s", held.Load(), errA.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	b := startRunner(t, pgURL, base, sheet, filepath.Join(dir, "b.xlsx"), &errB)
	outB := b.Stdout.(*bytes.Buffer) // read once B has ended
	// B pays what no one holds, then waits for A's rows; let A's answers
	// through once B is under way.
	time.Sleep(2 * time.Second)
	open()
	if err := a.Wait(); err != nil {
		t.Fatalf("runner A: %v\n%s", err, errA.String())
	}
	if err := b.Wait(); err != nil {
		t.Fatalf("runner B was refused or failed: %v\n%s\n%s", err, outB.String(), errB.String())
	}
	if wb := worked(t, errB.String()); wb == 0 {
		t.Errorf("runner B worked no row\n%s", outB.String())
	}
	if !strings.Contains(outB.String(), "being paid by another runner on this ledger; not counted here") {
		t.Errorf("runner B did not say it left A's rows out:\n%s", outB.String())
	}
	audit := sb.Audit()
	got := checkPaidOnce(t, audit, pgURL, filepath.Join(dir, "b.xlsx"))
	if len(got) != n {
		t.Errorf("%d rows in the latest run, want %d", len(got), n)
	}
	loads := map[string]int{}
	for _, l := range audit.Loads {
		loads[l.ClientLoadID]++
	}
	for id, c := range loads {
		if c != 1 {
			t.Errorf("row %s loaded %d times", id, c)
		}
	}
	if len(loads) != n {
		t.Errorf("%d rows loaded, want %d", len(loads), n)
	}
}
