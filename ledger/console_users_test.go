package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

func TestConsoleUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)

		if _, err := l.ConsoleUser(ctx, "alice"); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("ConsoleUser of an empty store = %v, want ErrNotFound", err)
		}
		alice := ledger.ConsoleUser{Name: "alice", Role: ledger.RolePreparer, PasswordHash: []byte("$2a$hash-a"), CreatedBy: "test"}
		if err := l.AddConsoleUser(ctx, alice); err != nil {
			t.Fatal(err)
		}
		if err := l.AddConsoleUser(ctx, ledger.ConsoleUser{Name: "bob", Role: ledger.RoleApprover, PasswordHash: []byte("$2a$hash-b")}); err != nil {
			t.Fatal(err)
		}
		// Names are unique without regard to case: "Alice" would be a second
		// alice in every event trail.
		err := l.AddConsoleUser(ctx, ledger.ConsoleUser{Name: "Alice", Role: ledger.RoleViewer, PasswordHash: []byte("x")})
		if !errors.Is(err, ledger.ErrUserExists) {
			t.Fatalf("AddConsoleUser(Alice) = %v, want ErrUserExists", err)
		}
		for _, bad := range []ledger.ConsoleUser{
			{Name: "", Role: ledger.RoleViewer, PasswordHash: []byte("x")},
			{Name: "two words", Role: ledger.RoleViewer, PasswordHash: []byte("x")},
			{Name: strings.Repeat("a", 65), Role: ledger.RoleViewer, PasswordHash: []byte("x")},
			{Name: "carol", Role: "admin", PasswordHash: []byte("x")},
			{Name: "carol", Role: ledger.RoleViewer},
		} {
			if err := l.AddConsoleUser(ctx, bad); err == nil {
				t.Errorf("AddConsoleUser(%+v) = nil, want an error", bad)
			}
		}

		got, err := l.ConsoleUser(ctx, "ALICE")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "alice" || got.Role != ledger.RolePreparer || string(got.PasswordHash) != "$2a$hash-a" || got.CreatedAt.IsZero() || got.CreatedBy != "test" {
			t.Fatalf("ConsoleUser(ALICE) = %+v", got)
		}
		if err := l.SetConsolePassword(ctx, "alice", []byte("$2a$new"), "test"); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.ConsoleUser(ctx, "alice"); string(got.PasswordHash) != "$2a$new" {
			t.Fatalf("password hash after SetConsolePassword = %q", got.PasswordHash)
		}
		if err := l.SetConsolePassword(ctx, "nobody", []byte("x"), "test"); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("SetConsolePassword(nobody) = %v, want ErrNotFound", err)
		}
		all, err := l.ConsoleUsers(ctx)
		if err != nil || len(all) != 2 || all[0].Name != "alice" || all[1].Name != "bob" {
			t.Fatalf("ConsoleUsers = %+v, %v", all, err)
		}

		// Every change is in the audit trail, and no hash is.
		if _, err := l.ConsoleAction(ctx, "bob", "sign_in", 0, "bob signed in", map[string]string{"ip": "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for ev, err := range l.Events(ctx, ledger.EventFilter{Kind: ledger.EventConsole}) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(ev.Data), "$2a$") || strings.Contains(ev.Message, "$2a$") {
				t.Fatalf("event %d holds a password hash: %s %s", ev.Seq, ev.Message, ev.Data)
			}
			msgs = append(msgs, ev.Message)
		}
		want := []string{"console user alice added with role preparer by test", "console user bob added with role approver by ",
			"password of console user alice set by test", "bob signed in"}
		if strings.Join(msgs, "|") != strings.Join(want, "|") {
			t.Fatalf("console events:\n got %q\nwant %q", msgs, want)
		}
	})
}

// TestConsoleUserDisableRemove: disabling keeps the hash for enabling and
// survives a new password; removing deletes the user; both are events.
func TestConsoleUserDisableRemove(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		for _, n := range []string{"alice", "bob"} {
			if err := l.AddConsoleUser(ctx, ledger.ConsoleUser{Name: n, Role: ledger.RoleApprover, PasswordHash: []byte("$2a$hash-" + n)}); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // disabling twice is not an error, nor a second mark
			if err := l.SetConsoleUserDisabled(ctx, "ALICE", true, "test"); err != nil {
				t.Fatal(err)
			}
		}
		u, err := l.ConsoleUser(ctx, "alice")
		if err != nil || !u.Disabled || string(u.PasswordHash) != "$2a$hash-alice" {
			t.Fatalf("disabled alice = %+v, %v", u, err)
		}
		if err := l.SetConsolePassword(ctx, "alice", []byte("$2a$new"), "test"); err != nil {
			t.Fatal(err)
		}
		if u, _ := l.ConsoleUser(ctx, "alice"); !u.Disabled || string(u.PasswordHash) != "$2a$new" {
			t.Fatalf("alice after a new password = %+v; want still disabled, new hash", u)
		}
		if err := l.SetConsoleUserDisabled(ctx, "alice", false, "test"); err != nil {
			t.Fatal(err)
		}
		if u, _ := l.ConsoleUser(ctx, "alice"); u.Disabled || string(u.PasswordHash) != "$2a$new" {
			t.Fatalf("enabled alice = %+v", u)
		}
		if err := l.SetConsolePassword(ctx, "bob", []byte("!$2a$sneaky"), "test"); err == nil {
			t.Error("a hash carrying the disabled mark was accepted")
		}
		if err := l.RemoveConsoleUser(ctx, "Bob", "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := l.ConsoleUser(ctx, "bob"); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("removed bob = %v, want ErrNotFound", err)
		}
		if err := l.RemoveConsoleUser(ctx, "bob", "test"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("removing bob twice = %v, want ErrNotFound", err)
		}
		if err := l.SetConsoleUserDisabled(ctx, "nobody", true, "test"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("disabling nobody = %v, want ErrNotFound", err)
		}
	})
}
