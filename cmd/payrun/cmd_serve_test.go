package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
)

func TestServeRefusesOpenPlainHTTP(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "l.db")
	for _, args := range [][]string{
		{"serve", "--sandbox", "--ledger", ledger, "--listen", "0.0.0.0:0"},
		{"serve", "--sandbox", "--ledger", ledger, "--listen", ":0"},
		{"serve", "--sandbox", "--ledger", ledger, "--listen", "payroll.example.com:8088"},
		{"serve", "--sandbox", "--ledger", ledger, "--tls-cert", "c.pem"},
		{"serve", "--sandbox", "--ledger", ledger, "--max-upload", "0"},
		{"serve", "--sandbox", "--ledger", ledger, "extra"},
	} {
		code, _, stderr := runMain(t, args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, stderr)
		}
	}
	if _, err := os.Stat(ledger); err == nil {
		t.Fatal("a refused serve created the ledger")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8088": true, "127.9.9.9:1": true, "[::1]:8088": true, "localhost:8088": true,
		"0.0.0.0:8088": false, ":8088": false, "[::]:8088": false, "10.0.0.5:8088": false, "example.com:80": false,
	} {
		got, err := isLoopback(addr)
		if err != nil || got != want {
			t.Errorf("isLoopback(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := isLoopback("8088"); err == nil {
		t.Error("isLoopback accepted an address without a port")
	}
}

// TestServeFirstRun is what a new user sees: payrun serve --sandbox prints
// the URL and the ways to create the first user, and the setup link works.
func TestServeFirstRun(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "payrun-sandbox.db")
	out := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--sandbox", "--ledger", ledger, "--listen", "127.0.0.1:0"})
	}()
	setup := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/)setup\?token=([0-9a-f]{32})`)
	var match []string
	for deadline := time.Now().Add(20 * time.Second); match == nil; {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no setup link printed:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
		match = setup.FindStringSubmatch(out.String())
	}
	if !strings.Contains(out.String(), "payrun user add --role approver") {
		t.Errorf("no user add hint:\n%s", out.String())
	}
	// Every user add hint names the ledger serve uses: without it the user
	// lands in ./payrun.db, which this console never reads.
	if n := strings.Count(out.String(), "payrun user add"); n < 2 || strings.Count(out.String(), "--ledger "+ledger) < n {
		t.Errorf("a user add hint lacks --ledger %s:\n%s", ledger, out.String())
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
	if strings.Contains(out.String(), "sandbox-key") {
		t.Fatal("serve printed the API key")
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

func TestUserAddAndList(t *testing.T) {
	dir := t.TempDir()
	ledger := filepath.Join(dir, "l.db")
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("a long passphrase\n"), 0o600)
	if code, stdout, stderr := runMain(t, "user", "add", "--ledger", ledger, "--role", "approver", "--password-file", pw, "bob"); code != ExitOK ||
		!strings.Contains(stdout, "bob added as approver") {
		t.Fatalf("user add = %d\n%s%s", code, stdout, stderr)
	}
	for _, args := range [][]string{
		{"user", "add", "--ledger", ledger, "--role", "approver", "--password-file", pw, "BOB"}, // taken, any case
		{"user", "add", "--ledger", ledger, "--role", "admin", "--password-file", pw, "carol"},
		{"user", "add", "--ledger", ledger, "--role", "viewer", "--password-file", pw, "two words"},
		{"user", "add", "--ledger", ledger, "--role", "viewer", "carol"}, // empty stdin: no password
		{"user", "frobnicate"},
		{"user"},
	} {
		if code, _, _ := runMain(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	code, stdout, _ := runMain(t, "user", "list", "--ledger", ledger)
	if code != ExitOK || !strings.Contains(stdout, "bob") || strings.Contains(stdout, "carol") || strings.Contains(stdout, "$2a$") {
		t.Fatalf("user list = %d\n%s", code, stdout)
	}
}

// TestUserDisableEnableRemove: there was no way to take a console user's
// access away short of editing the ledger by hand.
func TestUserDisableEnableRemove(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "l.db")
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("a long passphrase\n"), 0o600)
	for _, name := range []string{"bob", "dave"} {
		if code, stdout, stderr := runMain(t, "user", "add", "--ledger", path, "--role", "approver", "--password-file", pw, name); code != ExitOK {
			t.Fatalf("user add %s = %d\n%s%s", name, code, stdout, stderr)
		}
	}
	step := func(want int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runMain(t, append([]string{"user"}, args...)...)
		if code != want {
			t.Fatalf("user %v = %d, want %d\n%s%s", args, code, want, stdout, stderr)
		}
		return stdout
	}
	step(ExitOK, "disable", "--ledger", path, "BOB") // names compare without regard to case
	if out := step(ExitOK, "list", "--ledger", path); !regexp.MustCompile(`(?m)^bob\s+approver\s+disabled`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^dave\s+approver\s+active`).MatchString(out) {
		t.Fatalf("list after disable:\n%s", out)
	}
	// A new password keeps a disabled user disabled.
	step(ExitOK, "passwd", "--ledger", path, "--password-file", pw, "bob")
	l, err := ledger.Open(context.Background(), path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := l.ConsoleUser(context.Background(), "bob")
	l.Close()
	if err != nil || !u.Disabled || !bytes.HasPrefix(u.PasswordHash, []byte("$2")) {
		t.Fatalf("bob after disable and passwd = %+v, %v; want disabled with a bcrypt hash", u, err)
	}
	step(ExitOK, "enable", "--ledger", path, "bob")
	step(ExitOK, "remove", "--ledger", path, "dave")
	if out := step(ExitOK, "list", "--ledger", path); strings.Contains(out, "dave") || !regexp.MustCompile(`(?m)^bob\s+approver\s+active`).MatchString(out) {
		t.Fatalf("list after enable and remove:\n%s", out)
	}
	step(ExitUsage, "remove", "--ledger", path, "dave")
	step(ExitUsage, "disable", "--ledger", path)

	l, err = ledger.Open(context.Background(), path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var msgs []string
	for ev, err := range l.Events(context.Background(), ledger.EventFilter{Kind: ledger.EventConsole}) {
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, ev.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"console user bob disabled by payrun user disable", "console user bob enabled by", "console user dave removed by"} {
		if !strings.Contains(all, want) {
			t.Errorf("no event %q in\n%s", want, all)
		}
	}
}

// TestUserPasswdAndDisableEndSessionsAtOnce: payrun user passwd and disable
// left the user's console sessions in the ledger until the console saw their
// next request. A changed password or a disabled user must sign out
// everywhere at once, also while a console serves that ledger.
func TestUserPasswdAndDisableEndSessionsAtOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "payrun-sandbox.db")
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("a long passphrase\n"), 0o600)
	for _, name := range []string{"bob", "dave", "erin", "vic"} {
		if code, stdout, stderr := runMain(t, "user", "add", "--ledger", path, "--role", "approver", "--password-file", pw, name); code != ExitOK {
			t.Fatalf("user add %s = %d\n%s%s", name, code, stdout, stderr)
		}
	}
	// A console serves the ledger meanwhile, as it would in use.
	out := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--sandbox", "--ledger", path, "--listen", "127.0.0.1:0"})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), "http://127.0.0.1:"); {
		if time.Now().After(deadline) {
			t.Fatalf("serve printed no address:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	l, err := ledger.Open(context.Background(), path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ids := map[string]string{}
	for _, name := range []string{"bob", "dave", "erin", "vic"} {
		id := "session-of-" + name + "-0123456789abcdef"
		if _, err := l.CreateConsoleSession(context.Background(), id, ledger.ConsoleSession{User: name, Role: ledger.RoleApprover, Cred: "x"}, time.Hour, 12*time.Hour); err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	live := func(name string) bool {
		t.Helper()
		_, err := l.ConsoleSession(context.Background(), ids[name], time.Hour)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	for _, step := range [][]string{
		{"passwd", "--ledger", path, "--password-file", pw, "BOB"},
		{"disable", "--ledger", path, "dave"},
		{"remove", "--ledger", path, "erin"},
	} {
		code, stdout, stderr := runMain(t, append([]string{"user"}, step...)...)
		if code != ExitOK {
			t.Fatalf("user %v = %d\n%s%s", step, code, stdout, stderr)
		}
		if !strings.Contains(stdout, "1 open console session ended") {
			t.Errorf("user %v does not say a session ended:\n%s", step, stdout)
		}
	}
	for name, want := range map[string]bool{"bob": false, "dave": false, "erin": false, "vic": true} {
		if got := live(name); got != want {
			t.Errorf("session of %s live after the user commands = %v, want %v", name, got, want)
		}
	}
}
