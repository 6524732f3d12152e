package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// The command line behaves like git's, gh's or kubectl's: flags anywhere
// (before or after the sheet, even before the command), "--" ends them,
// "payrun help CMD" and "CMD --help" print one command's help on stdout,
// flags are written --flag, and a typo gets "did you mean". The standard
// flag package does the parsing; this file only wraps it: a CLI library
// would replace every command's flag definitions for what fits here in a
// few functions.

// newFlagSet returns the flag set of command name ("run", "user add"):
// errors are returned, never printed with the whole flag list, and -h or
// --help prints the command's help (usage, flags, examples) on stdout.
func (m *Main) newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("payrun "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() { m.commandHelp(m.Stdout, fs, name, usage) }
	return fs
}

// parseFlags parses args with flags and arguments in any order; fs.Args()
// are then the arguments alone. A flag error becomes a UsageError: an
// unknown flag names the nearest known one and points at --help, any
// other carries hint, a corrected command line.
func (m *Main) parseFlags(fs *flag.FlagSet, args []string, hint string) error {
	help := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error
	defer func() { fs.Usage = help }()
	var pos []string
	for rest := args; ; {
		err := fs.Parse(rest)
		if errors.Is(err, flag.ErrHelp) {
			help()
			return err
		}
		if err != nil {
			return flagError(fs, err, hint)
		}
		left := fs.Args()
		if n := len(rest) - len(left); n > 0 && rest[n-1] == "--" && (n < 2 || !takesValue(fs, rest[n-2])) {
			pos = append(pos, left...) // "--": the rest are arguments
			break
		}
		if len(left) == 0 {
			break
		}
		pos, rest = append(pos, left[0]), left[1:]
	}
	// Parsing "--" then the arguments sets no flag and leaves fs.Args()
	// holding the arguments alone.
	return fs.Parse(append([]string{"--"}, pos...))
}

// takesValue reports whether arg is a flag of fs that takes the next
// argument as its value (--out FILE, not --sandbox or --out=FILE).
func takesValue(fs *flag.FlagSet, arg string) bool {
	if !strings.HasPrefix(arg, "-") || strings.Contains(arg, "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// oneDashFlag matches a flag as the flag package writes it in errors (-name).
var oneDashFlag = regexp.MustCompile(`(^|\s)-([A-Za-z][A-Za-z0-9-]*)`)

// flagError turns the flag package's error into payrun's.
func flagError(fs *flag.FlagSet, err error, hint string) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
		msg = "unknown flag --" + name
		if s := nearest(name, known); s != "" {
			msg += "; did you mean --" + s + "?"
		}
		return &UsageError{Err: errors.New(msg), Hint: fs.Name() + " --help"}
	}
	return &UsageError{Err: errors.New(oneDashFlag.ReplaceAllString(msg, "$1--$2")), Hint: hint}
}

// commandFirst moves the command name to the front when flags come before
// it (payrun --sandbox plan june.csv), so flags go anywhere on the line.
func commandFirst(args []string) []string {
	if len(args) == 0 || !strings.HasPrefix(args[0], "-") || isTopLevelFlag(args[0]) {
		return args
	}
	for i, a := range args {
		if _, ok := lookupCommand(a); ok {
			out := append([]string{a}, args[:i]...)
			return append(out, args[i+1:]...)
		}
	}
	return args
}

func isTopLevelFlag(a string) bool {
	switch a {
	case "-h", "-help", "--help", "-version", "--version":
		return true
	}
	return false
}

// lookupCommand finds a command by name.
func lookupCommand(name string) (cmdInfo, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return cmdInfo{}, false
}

// unknownCommand is the error for a command, or a group's subcommand
// (group "user"), that does not exist, naming the nearest one.
func unknownCommand(group, name string, known []string) error {
	what, hint := "command", "payrun help"
	if group != "" {
		what, hint = group+" subcommand", "payrun help "+group
	}
	msg := fmt.Sprintf("unknown %s %q", what, name)
	if s := nearest(name, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return &UsageError{Err: errors.New(msg), Hint: hint}
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// nearest returns the candidate closest to word when it is close enough to
// be a typo of it (one or two edits, a swap counting as one, or word a
// prefix of it), else "".
func nearest(word string, candidates []string) string {
	limit := max(1, (len(word)+1)/3)
	best, bestD := "", limit+1
	for _, c := range candidates {
		d := editDistance(word, c)
		if len(word) >= 3 && strings.HasPrefix(c, word) {
			d = min(d, limit)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// help is payrun help CMD [SUB]: the command's own help, as CMD --help
// prints it.
func (m *Main) help(ctx context.Context, args []string) error {
	c, ok := lookupCommand(args[0])
	if !ok {
		return unknownCommand("", args[0], commandNames())
	}
	err := c.new().Run(ctx, m, append(append([]string{}, args[1:]...), "--help"))
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// usage prints the top-level help: every command with its summary.
func (m *Main) usage(w io.Writer) {
	fmt.Fprintln(w, "payrun pays a payout sheet through MassPay, exactly once.\n\nUsage:\n\n\tpayrun <command> [flags] [arguments]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\t"+fmt.Sprintf("%-14s %s", "version", "print payrun's version and the commit it was built from"))
	fmt.Fprintln(w, "\nFlags go before or after the arguments; -- ends them.")
	fmt.Fprintln(w, "Run 'payrun help <command>' or 'payrun <command> --help' for a command's flags and examples.")
}

// commandHelp prints one command's help: usage, summary, flags, examples.
func (m *Main) commandHelp(w io.Writer, fs *flag.FlagSet, name, usage string) {
	fmt.Fprintf(w, "Usage: payrun %s %s\n", name, usage)
	if s := summaryOf(name); s != "" {
		fmt.Fprintf(w, "\n%s\n", s)
	}
	fmt.Fprintln(w, "\nFlags:")
	printFlags(w, fs)
	printExamples(w, name)
}

// groupHelp prints the help of a command made of subcommands (user,
// autopay, ledger) on stdout.
func (m *Main) groupHelp(name, usage string) error {
	fmt.Fprintf(m.Stdout, "Usage: payrun %s %s\n", name, usage)
	if s := summaryOf(name); s != "" {
		fmt.Fprintf(m.Stdout, "\n%s\n", s)
	}
	fmt.Fprintf(m.Stdout, "\n'payrun %s SUBCOMMAND --help' lists a subcommand's flags.\n", name)
	printExamples(m.Stdout, name)
	return nil
}

// summaryOf is the one-line summary of a command, or of a subcommand's
// command ("user add": the user command's).
func summaryOf(name string) string {
	first, _, _ := strings.Cut(name, " ")
	if c, ok := lookupCommand(first); ok {
		return c.summary
	}
	return ""
}

// printFlags lists fs's flags as the README writes them: --name VALUE.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		if def := f.DefValue; def != "" && def != "0" && def != "false" && def != "0s" && def != "[]" {
			if kind == "string" {
				def = strconv.Quote(def)
			}
			usage += " (default " + def + ")"
		}
		fmt.Fprintf(w, "%s\n      %s\n", line, strings.ReplaceAll(usage, "\n", "\n      "))
	})
	fmt.Fprintln(w, "  --help\n      this help (also -h)")
}

func printExamples(w io.Writer, name string) {
	ex := examples[name]
	if len(ex) == 0 {
		first, _, _ := strings.Cut(name, " ")
		ex = examples[first]
	}
	if len(ex) == 0 {
		return
	}
	fmt.Fprintln(w, "\nExamples:")
	for _, e := range ex {
		fmt.Fprintln(w, "  "+e)
	}
}

// printVersion prints the module version and the VCS commit payrun was
// built from, as the Go toolchain recorded them in the binary.
func (m *Main) printVersion() {
	version, path, commit, modified, when, goVersion := "(devel)", "github.com/payrun/payrun", "", false, "", runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.Main.Path != "" {
			path = bi.Main.Path
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			case "vcs.time":
				when = s.Value
			}
		}
	}
	rev := "commit unknown (built without VCS stamping: make build records it)"
	if commit != "" {
		rev = "commit " + commit
		if modified {
			rev += " with uncommitted changes"
		}
		if when != "" {
			rev += " of " + when
		}
	}
	fmt.Fprintf(m.Stdout, "payrun %s (%s), %s, %s\n", version, path, rev, goVersion)
}

// givenFlags returns those of the flags named that were given on fs's
// command line, as they would be typed again (" --sandbox --ledger l.db"),
// so a next step payrun suggests works as printed.
func givenFlags(fs *flag.FlagSet, names ...string) string {
	set := map[string]*flag.Flag{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = f })
	var b strings.Builder
	for _, n := range names {
		f, ok := set[n]
		if !ok {
			continue
		}
		v := f.Value.String()
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			if v == "true" {
				b.WriteString(" --" + n)
			} else {
				b.WriteString(" --" + n + "=" + v)
			}
			continue
		}
		b.WriteString(" --" + n + " " + shellQuote(v))
	}
	return b.String()
}

// allGivenFlags is every flag given on fs's command line, as typed again.
func allGivenFlags(fs *flag.FlagSet) string {
	var names []string
	fs.Visit(func(f *flag.Flag) { names = append(names, f.Name) })
	return givenFlags(fs, names...)
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// letters, digits and the punctuation of paths and URLs.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@%+,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
