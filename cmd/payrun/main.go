// Command payrun pays a payout sheet through the MassPay API exactly once.
//
// main only wires signals to one root context and turns the error returned by
// Main.Run into an exit code; every subcommand is its own type with its own
// flag set, and none of them exits the process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/ledger"
)

// Exit codes, as documented in the README and ../shared/design.md.
const (
	ExitOK        = 0 // every row final and paid
	ExitAttention = 1 // some rows need action or failed; funds short; a flip found
	ExitUsage     = 2 // bad input or usage
	ExitAborted   = 3 // aborted: signal, lost ledger, auth failure, ledger locked
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	m := NewMain()
	err := m.Run(ctx, os.Args[1:])
	stop()
	code := ExitCode(err)
	m.printError(err)
	os.Exit(code)
}

// Main is the payrun program: its streams and environment, so tests can run
// it in-process.
type Main struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string
	// progressHook, when set, sees every progress snapshot of a run besides
	// the progress view: the sandbox benchmark times rows with it.
	progressHook func(batch.Progress)
}

// NewMain returns a Main wired to the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

// command is one subcommand.
type command interface {
	Run(ctx context.Context, m *Main, args []string) error
}

// cmdInfo is a subcommand's name, one-line summary and constructor.
type cmdInfo struct {
	name    string
	summary string
	new     func() command
}

// commands lists every subcommand, in the order payrun help shows them.
var commands = []cmdInfo{
	{"run", "pay a sheet: validate, check balance, pay every row exactly once, write results", func() command { return &RunCommand{} }},
	{"plan", "dry run: validate a sheet, quote routes and fees, check the balance; moves no money", func() command { return &PlanCommand{} }},
	{"status", "show a run's rows by state, totals, and rows needing action", func() command { return &StatusCommand{} }},
	{"report", "regenerate the results workbook of a run from the ledger", func() command { return &ReportCommand{} }},
	{"reconcile", "fetch MassPay's current status of committed payouts and loads; report flips", func() command { return &ReconcileCommand{} }},
	{"webhook", "receive MassPay status callbacks into the ledger", func() command { return &WebhookCommand{} }},
	{"template", "write the blank payout sheet (xlsx or csv)", func() command { return &TemplateCommand{} }},
	{"sandbox", "run the embedded MassPay sandbox on a local port", func() command { return &SandboxCommand{} }},
	{"ledger", "export or back up the ledger", func() command { return &LedgerCommand{} }},
	{"wallets", "list payees' wallets", func() command { return &WalletsCommand{} }},
	{"autopay", "list or apply autopay rules from a sheet", func() command { return &AutopayCommand{} }},
	{"tax", "export year-end balances per payee for tax forms", func() command { return &TaxCommand{} }},
	{"history", "export all users' transactions for a date range", func() command { return &HistoryCommand{} }},
	{"confirmations", "download PDF confirmations of a run's payouts", func() command { return &ConfirmationsCommand{} }},
	{"config", "print the effective configuration (API key redacted)", func() command { return &ConfigCommand{} }},
	{"approve", "approve a recorded plan (maker-checker)", func() command { return &ApproveCommand{} }},
	{"reject", "reject a recorded plan, with a reason", func() command { return RejectCommand{} }},
	{"alerts", "send a test alert of each kind to the configured channels (payrun alerts test)", func() command { return &AlertsCommand{} }},
	{"inbox", "pay every new sheet dropped into an inbox folder (for cron)", func() command { return &InboxCommand{} }},
	{"serve", "serve the finance web console: upload, approve, run, watch, results", func() command { return &ServeCommand{} }},
	{"user", "add, list, re-password, disable, enable or remove the people who may sign in to the web console", func() command { return &UserCommand{} }},
}

// Run parses the subcommand name and runs it. Flags given before the
// command name are passed on to it.
func (m *Main) Run(ctx context.Context, args []string) error {
	args = commandFirst(args)
	if len(args) == 0 {
		m.usage(m.Stderr)
		return &UsageError{Err: errors.New("no command given"), Hint: "payrun run --sandbox samples/monthly-freelancers.xlsx"}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if args[0] == "help" && len(args) > 1 {
			return m.help(ctx, args[1:])
		}
		m.usage(m.Stdout)
		return nil
	case "version", "-version", "--version":
		m.printVersion()
		return nil
	}
	if c, ok := lookupCommand(args[0]); ok {
		return c.new().Run(ctx, m, args[1:])
	}
	if strings.HasPrefix(args[0], "-") {
		return &UsageError{Err: fmt.Errorf("flag %s given without a command", args[0]), Hint: "payrun help"}
	}
	return unknownCommand("", args[0], commandNames())
}

// UsageError is a mistake in how payrun was called; Hint is a corrected
// command line to try.
type UsageError struct {
	Err  error
	Hint string
}

// Error is the wrapped error's text; the hint is printed apart.
func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *UsageError) Unwrap() error { return e.Err }

// ExitError carries a specific exit code for err.
type ExitError struct {
	Code int
	Err  error
}

// Error is the wrapped error's text.
func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// errSilent marks an ExitError whose story was already told on the terminal.
var errSilent = errors.New("silent")

// Attention returns an error that exits with ExitAttention without printing
// anything more: the command has already said what needs attention.
func Attention() error { return &ExitError{Code: ExitAttention, Err: errSilent} }

// ExitCode maps an error returned by Main.Run to the process exit code.
func ExitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	if errors.Is(err, context.Canceled) {
		return ExitAborted
	}
	if errors.Is(err, ledger.ErrEmptyLedger) {
		return ExitAborted // a lost ledger, whichever command found it
	}
	return ExitAttention
}
