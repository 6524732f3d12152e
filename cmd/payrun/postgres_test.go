package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay/sandbox"
)

// payrun run and status work with --ledger postgres://...: the sheet is paid
// once, a re-run pays nothing more, and nothing is made on disk for the URL
// (before, run created the folder "postgres:" for the ledger's "directory").
func TestRunOnPostgresLedger(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	t.Chdir(dir)
	sheet, results, state := filepath.Join(dir, "june.xlsx"), filepath.Join(dir, "june-results.xlsx"), filepath.Join(dir, "sandbox.json")
	writeRunXLSX(t, sheet, runSheetRows("PG", 6))
	for range 2 {
		code, out, errs := runIn(t, map[string]string{}, "run", "--sandbox", "--sandbox-state", state, "--yes", "--ledger", url, "--out", results, sheet)
		if code != ExitOK {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
		}
	}
	sb, err := sandbox.New(sandbox.Config{APIKey: sandbox.DefaultAPIKey, StateFile: state})
	if err != nil {
		t.Fatal(err)
	}
	audit := sb.Audit()
	sb.Close()
	rows := checkPaidOnce(t, audit, url, results)
	n := map[ledger.State]int{}
	for _, r := range rows {
		n[r.State]++
	}
	if n[ledger.StatePaid]+n[ledger.StateLoaded] != 6 {
		t.Errorf("states %v, want 6 paid or loaded", n)
	}
	code, out, errs := runIn(t, nil, "status", "--ledger", url)
	if code != ExitOK || !strings.Contains(out, "PAID") {
		t.Errorf("status: exit %d\n%s\n%s", code, out, errs)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "postgres*")); len(m) != 0 {
		t.Errorf("files made for the URL: %v", m)
	}
}

// payrun plan records its plan in a PostgreSQL ledger, and payrun approve
// lists it from there.
func TestPlanOnPostgresLedger(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	sheet := filepath.Join(dir, "march.csv")
	writeSheet(t, sheet, "PGP", 2, 3) // before Chdir: it reads ../../samples
	t.Chdir(dir)
	env := map[string]string{"PAYRUN_LEDGER": url, "PAYRUN_REQUIRE_APPROVAL": "true"}
	if code, out, errs := runIn(t, env, "plan", "--sandbox", "--as", "bob", sheet); code != ExitOK {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs := runIn(t, env, "approve")
	if code != ExitOK || !strings.Contains(out, "march.csv") || !strings.Contains(out, "bob") {
		t.Errorf("approve (list): exit %d\n%s\n%s", code, out, errs)
	}
}

// payrun serve runs on a PostgreSQL ledger: it starts, offers the first
// user's setup page, and stops on cancel.
func TestServeOnPostgresLedger(t *testing.T) {
	url := pgtest.URL(t)
	t.Chdir(t.TempDir())
	out := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--sandbox", "--ledger", url, "--listen", "127.0.0.1:0"})
	}()
	setup := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/)setup\?token=([0-9a-f]{32})`)
	var match []string
	for deadline := time.Now().Add(30 * time.Second); match == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("no setup link printed:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, out.String())
		case <-time.After(50 * time.Millisecond):
		}
		match = setup.FindStringSubmatch(out.String())
	}
	resp, err := http.Get(match[1] + "setup?token=" + match[2])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Create the first user")) {
		t.Fatalf("setup page = %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(out.String(), "--ledger "+url) && !strings.Contains(out.String(), "--ledger '"+url+"'") {
		t.Errorf("the user add hint does not name the URL:\n%s", out.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after cancel: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}
}
