package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/payrun/payrun/cmd/payrun/console"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// UserCommand manages the people who may sign in to the web console.
type UserCommand struct{}

const userUsage = "add --role preparer|approver|viewer NAME | passwd NAME | disable NAME | enable NAME | remove NAME | list"

const userHint = "payrun user add --role approver NAME"

// Run dispatches add, passwd, disable, enable, remove and list.
func (c *UserCommand) Run(ctx context.Context, m *Main, args []string) error {
	if len(args) == 0 {
		return &UsageError{Err: errors.New("user: say add, passwd, disable, enable, remove or list"), Hint: userHint}
	}
	switch args[0] {
	case "add":
		return c.add(ctx, m, args[1:])
	case "passwd":
		return c.passwd(ctx, m, args[1:])
	case "disable", "enable", "remove":
		return c.change(ctx, m, args[0], args[1:])
	case "list":
		return c.list(ctx, m, args[1:])
	case "-h", "--help", "help":
		return m.groupHelp("user", userUsage)
	}
	return unknownCommand("user", args[0], []string{"add", "passwd", "disable", "enable", "remove", "list"})
}

// userFlags are the flags every user subcommand shares.
type userFlags struct {
	ledgerPath   string
	sandbox      bool
	passwordFile string
}

func (c *UserCommand) flags(m *Main, name, usage string, f *userFlags, role *string) *flag.FlagSet {
	fs := m.newFlagSet("user "+name, usage)
	ledgerFlag(fs, &f.ledgerPath)
	sandboxLedgerFlag(fs, &f.sandbox)
	if name == "add" || name == "passwd" {
		fs.StringVar(&f.passwordFile, "password-file", "", "read the password from this file's first line instead of asking")
	}
	if role != nil {
		fs.StringVar(role, "role", "", "preparer (uploads and runs), approver (also approves others' plans) or viewer (reads only)")
	}
	return fs
}

func (c *UserCommand) add(ctx context.Context, m *Main, args []string) error {
	var f userFlags
	var role string
	fs := c.flags(m, "add", "--role preparer|approver|viewer [flags] NAME", &f, &role)
	if err := m.parseFlags(fs, args, userHint); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UsageError{Err: errors.New("user add: give one NAME"), Hint: userHint}
	}
	name := fs.Arg(0)
	r := ledger.ConsoleRole(role)
	if !r.Valid() {
		return &UsageError{Err: fmt.Errorf("user add: --role must be preparer, approver or viewer, not %q", role), Hint: userHint}
	}
	if err := ledger.CheckConsoleUserName(name); err != nil {
		return &UsageError{Err: err, Hint: userHint}
	}
	hash, err := c.password(m, f, name)
	if err != nil {
		return err
	}
	l, err := ledger.Open(ctx, m.defaultLedger(f.ledgerPath, f.sandbox), ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("open ledger: %w", err)}
	}
	defer l.Close()
	if err := l.AddConsoleUser(ctx, ledger.ConsoleUser{Name: name, Role: r, PasswordHash: hash, CreatedBy: "payrun user add (" + operator() + ")"}); err != nil {
		if errors.Is(err, ledger.ErrUserExists) {
			return &UsageError{Err: err, Hint: "payrun user passwd " + name}
		}
		return err
	}
	fmt.Fprintf(m.Stdout, "Console user %s added as %s in %s.\n", name, r, l.Path())
	return nil
}

func (c *UserCommand) passwd(ctx context.Context, m *Main, args []string) error {
	var f userFlags
	fs := c.flags(m, "passwd", "[flags] NAME", &f, nil)
	if err := m.parseFlags(fs, args, "payrun user passwd NAME"); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UsageError{Err: errors.New("user passwd: give one NAME"), Hint: "payrun user passwd NAME"}
	}
	l, err := ledger.Open(ctx, m.defaultLedger(f.ledgerPath, f.sandbox), ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("open ledger: %w", err)}
	}
	defer l.Close()
	if _, err := l.ConsoleUser(ctx, fs.Arg(0)); err != nil {
		return err
	}
	hash, err := c.password(m, f, fs.Arg(0))
	if err != nil {
		return err
	}
	if err := l.SetConsolePassword(ctx, fs.Arg(0), hash, "payrun user passwd ("+operator()+")"); err != nil {
		return err
	}
	n, err := endSessions(ctx, l, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Password of %s changed; %s.\n", fs.Arg(0), n)
	return nil
}

// endSessions ends every console session of user name in the ledger, so a
// new password, a disable or a removal signs them out on every console at
// once rather than at each session's next request, and says how many.
func endSessions(ctx context.Context, l *ledger.Ledger, name string) (string, error) {
	n, err := l.DropConsoleSessionsOf(ctx, name)
	if err != nil {
		// The change itself is recorded; the console refuses the
		// old sessions at their next request all the same.
		return "", &ExitError{Code: ExitAborted, Err: fmt.Errorf("end console sessions of %s: %w", name, err)}
	}
	return plural.Count(int(n), "open console session") + " ended", nil
}

// change disables, enables or removes a console user. Disabling or removing
// ends the user's open sessions in the ledger at once (every console serving
// it shares them).
func (c *UserCommand) change(ctx context.Context, m *Main, verb string, args []string) error {
	var f userFlags
	hint := "payrun user " + verb + " NAME"
	fs := c.flags(m, verb, "[flags] NAME", &f, nil)
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &UsageError{Err: fmt.Errorf("user %s: give one NAME", verb), Hint: hint}
	}
	name := fs.Arg(0)
	l, err := ledger.Open(ctx, m.defaultLedger(f.ledgerPath, f.sandbox), ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("open ledger: %w", err)}
	}
	defer l.Close()
	by := "payrun user " + verb + " (" + operator() + ")"
	switch verb {
	case "remove":
		err = l.RemoveConsoleUser(ctx, name, by)
	default:
		err = l.SetConsoleUserDisabled(ctx, name, verb == "disable", by)
	}
	if errors.Is(err, ledger.ErrNotFound) {
		return &UsageError{Err: fmt.Errorf("user %s: no console user %q", verb, name), Hint: "payrun user list"}
	}
	if err != nil {
		return err
	}
	ended := ""
	if verb != "enable" {
		if ended, err = endSessions(ctx, l, name); err != nil {
			return err
		}
	}
	switch verb {
	case "remove":
		fmt.Fprintf(m.Stdout, "Console user %s removed from %s; %s. Their events and plans stay.\n", name, l.Path(), ended)
	case "disable":
		fmt.Fprintf(m.Stdout, "Console user %s disabled; %s. payrun user enable %s lets them back.\n", name, ended, name)
	default:
		fmt.Fprintf(m.Stdout, "Console user %s enabled.\n", name)
	}
	return nil
}

func (c *UserCommand) list(ctx context.Context, m *Main, args []string) error {
	var f userFlags
	fs := c.flags(m, "list", "[flags]", &f, nil)
	if err := m.parseFlags(fs, args, "payrun user list"); err != nil {
		return err
	}
	l, err := ledger.Open(ctx, m.defaultLedger(f.ledgerPath, f.sandbox), ledger.Options{})
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("open ledger: %w", err)}
	}
	defer l.Close()
	users, err := l.ConsoleUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSTATUS\tCREATED\tBY")
	for _, u := range users {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, status, u.CreatedAt.Local().Format("2006-01-02 15:04"), u.CreatedBy)
	}
	return tw.Flush()
}

// password reads and hashes the new password: from --password-file, or
// asked on the terminal (twice, without echo), or one line of stdin.
func (c *UserCommand) password(m *Main, f userFlags, name string) ([]byte, error) {
	var pw string
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return nil, &UsageError{Err: fmt.Errorf("read password file: %w", err), Hint: "--password-file PATH"}
		}
		pw, _, _ = strings.Cut(string(b), "\n")
		pw = strings.TrimRight(pw, "\r")
	} else {
		var err error
		pw, err = console.ReadPassword(m.Stdin, m.Stderr, m.isTerminal(m.Stdin), name)
		if err != nil {
			// No password (empty stdin) or a weak one: both are how it
			// was called.
			return nil, &UsageError{Err: err, Hint: "echo 'a long passphrase' | payrun user add ..., or --password-file PATH"}
		}
	}
	hash, err := console.HashPassword(pw)
	if err != nil {
		return nil, &UsageError{Err: err, Hint: userHint}
	}
	return hash, nil
}
