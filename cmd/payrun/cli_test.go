package main

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cleanSheet writes a sheet of crypto payouts that plans without a mistake
// and returns its path, in a directory of its own.
func cleanSheet(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "june.csv")
	writeSheet(t, path, "CLI", 1, 2, 3)
	return path
}

// TestFlagsAfterSheet: flags after the sheet work as before it, as in git
// or kubectl ("no sheet given" before).
func TestFlagsAfterSheet(t *testing.T) {
	sheet := cleanSheet(t)
	ledgerPath := filepath.Join(filepath.Dir(sheet), "l.db")
	code, out, errb := runIn(t, nil, "plan", sheet, "--sandbox", "--ledger", ledgerPath)
	if code != ExitOK {
		t.Fatalf("plan SHEET --sandbox: exit %d\n%s%s", code, out, errb)
	}
	// Flags before the command name are the command's.
	code, out, errb = runIn(t, nil, "--sandbox", "plan", "--ledger", ledgerPath, sheet)
	if code != ExitOK {
		t.Fatalf("--sandbox plan SHEET: exit %d\n%s%s", code, out, errb)
	}
	// "--" ends the flags: what follows is a sheet even if it starts with -.
	code, _, errb = runIn(t, nil, "plan", "--sandbox", "--ledger", ledgerPath, "--", "-missing.csv")
	if code != ExitUsage || !strings.Contains(errb, "-missing.csv") || strings.Contains(errb, "unknown flag") {
		t.Fatalf("plan -- -missing.csv: exit %d\n%s", code, errb)
	}
}

// TestHintsRepeatFlags: the next step a command suggests carries the flags
// the user gave, so it works as printed (plan --sandbox suggested a bare
// payrun run, which failed for want of a key).
func TestHintsRepeatFlags(t *testing.T) {
	sheet := cleanSheet(t)
	ledgerPath := filepath.Join(filepath.Dir(sheet), "l.db")
	code, out, errb := runIn(t, nil, "plan", "--sandbox", sheet, "--ledger", ledgerPath, "--as", "ana")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	want := "payrun run " + sheet + " --sandbox --ledger " + ledgerPath + "\n"
	if !strings.Contains(out, want) {
		t.Errorf("plan's hint lacks the flags given: want %q in\n%s", want, out)
	}
	if strings.Contains(out, "run "+sheet+" --sandbox --ledger "+ledgerPath+" --as") {
		t.Errorf("plan's hint repeats a flag payrun run does not take:\n%s", out)
	}
	// The approver's next step pays the plan where it was prepared: the
	// same ledger, and the sandbox when the plan was made against it.
	env := map[string]string{"PAYRUN_ALLOW_SELF_APPROVAL": "true"}
	code, out, errb = runIn(t, env, "approve", "--ledger", ledgerPath, "--as", "carol", "1")
	if code != ExitOK {
		t.Fatalf("approve: exit %d\n%s%s", code, out, errb)
	}
	if want := "payrun run june.csv --ledger " + ledgerPath + " --sandbox\n"; !strings.Contains(out, want) {
		t.Errorf("approve's hint: want %q in\n%s", want, out)
	}
}

// TestHelpOfOneCommand: payrun help CMD and CMD --help print that
// command's help with examples, on stdout, exit 0; flags are written
// --flag, as the README writes them.
func TestHelpOfOneCommand(t *testing.T) {
	for _, args := range [][]string{{"help", "run"}, {"run", "--help"}, {"run", "-h"}, {"help", "user", "add"}, {"user", "add", "--help"}} {
		code, out, errb := runIn(t, nil, args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, errb)
		}
		name := strings.Join(args[:len(args)-1], " ") // CMD --help
		if args[0] == "help" {
			name = strings.Join(args[1:], " ")
		}
		want := "Usage: payrun " + name + " "
		if !strings.Contains(out, want) || !strings.Contains(out, "Examples:") {
			t.Errorf("%v: want %q and examples on stdout, got\n%s", args, want, out)
		}
		if strings.Contains(out, "Commands:") {
			t.Errorf("%v printed the top-level help:\n%s", args, out)
		}
		if regexp.MustCompile(`(?m)^\s+-[a-z]`).MatchString(out + errb) {
			t.Errorf("%v: a flag written with one dash:\n%s", args, out)
		}
		if !regexp.MustCompile(`(?m)^\s+--ledger`).MatchString(out) {
			t.Errorf("%v: no --ledger in help:\n%s", args, out)
		}
	}
	for _, c := range commands {
		code, out, errb := runIn(t, nil, "help", c.name)
		if code != ExitOK || !strings.Contains(out, "Usage: payrun "+c.name) || !strings.Contains(out, "Examples:\n  payrun "+c.name) {
			t.Errorf("help %s: exit %d\n%s%s", c.name, code, out, errb)
		}
	}
	code, out, _ := runIn(t, nil, "help")
	if code != ExitOK || !strings.Contains(out, "Commands:") || !strings.Contains(out, "payrun help <command>") {
		t.Errorf("payrun help: exit %d\n%s", code, out)
	}
}

// TestVersion: payrun version and payrun --version print the module
// version and VCS commit the binary was built from.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, out, errb := runIn(t, nil, arg)
		if code != ExitOK || !strings.HasPrefix(out, "payrun ") || !strings.Contains(out, "commit") {
			t.Errorf("%s: exit %d\n%s%s", arg, code, out, errb)
		}
	}
}

// TestDidYouMean: a mistyped command or flag names the nearest one instead
// of dumping every flag.
func TestDidYouMean(t *testing.T) {
	code, _, errb := runIn(t, nil, "statsu")
	if code != ExitUsage || !strings.Contains(errb, `did you mean "status"?`) {
		t.Errorf("statsu: exit %d\n%s", code, errb)
	}
	code, _, errb = runIn(t, nil, "plan", "june.csv", "--sandox")
	if code != ExitUsage || !strings.Contains(errb, "unknown flag --sandox; did you mean --sandbox?") {
		t.Errorf("--sandox: exit %d\n%s", code, errb)
	}
	if strings.Contains(errb, "max-amount") || strings.Contains(errb, "Usage:") {
		t.Errorf("--sandox dumped the flag list:\n%s", errb)
	}
	code, _, errb = runIn(t, nil, "user", "ad", "bob")
	if code != ExitUsage || !strings.Contains(errb, `did you mean "add"?`) {
		t.Errorf("user ad: exit %d\n%s", code, errb)
	}
	code, _, errb = runIn(t, nil, "status", "--workers", "x")
	if code != ExitUsage || !strings.Contains(errb, "unknown flag --workers") || strings.Contains(errb, "did you mean") {
		t.Errorf("status --workers: exit %d\n%s", code, errb)
	}
}

// TestConfirmHintRepeatsFlags: a run that cannot ask (no terminal) points
// at the same command with --yes, flags included (it said "payrun run --yes
// SHEET", which then lacked --sandbox).
func TestConfirmHintRepeatsFlags(t *testing.T) {
	sheet := cleanSheet(t)
	ledgerPath := filepath.Join(filepath.Dir(sheet), "l.db")
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background(), []string{"run", sheet, "--sandbox", "--ledger", ledgerPath, "--workers", "2"})
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("run without a terminal: %v\n%s", err, errb.String())
	}
	if want := "payrun run " + sheet + " --ledger " + ledgerPath + " --sandbox --workers 2 --yes"; ue.Hint != want {
		t.Errorf("hint = %q, want %q", ue.Hint, want)
	}
}
