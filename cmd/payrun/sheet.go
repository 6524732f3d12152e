package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// sheetFlags are the flags of commands that read a payout sheet.
type sheetFlags struct {
	sheetName   string
	maxAmount   string
	maxTotal    string
	decimalMark string
}

func (f *sheetFlags) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&f.sheetName, "sheet", "", "XLSX worksheet to read (default: the first one with data)")
	fs.StringVar(&f.maxAmount, "max-amount", "", "refuse the sheet if any row's amount exceeds this (in its source currency)")
	fs.StringVar(&f.maxTotal, "max-total", "", "refuse the sheet if one source currency's total exceeds this")
	fs.StringVar(&f.decimalMark, "decimal-mark", "", "decimal mark of the sheet's text amounts, , or . (env PAYRUN_DECIMAL_MARK; default: an amount the two marks read differently, such as 1,500, is a mistake)")
}

// options turns the flags into ingest and validation options; getenv
// answers the environment and payrun.toml for what no flag gave.
func (f sheetFlags) options(getenv func(string) string) (ingest.IngestOptions, validate.ValidateOptions, error) {
	var vo validate.ValidateOptions
	var mark rune
	switch dm := strings.TrimSpace(firstNonEmpty(f.decimalMark, getenv("PAYRUN_DECIMAL_MARK"))); dm {
	case "":
	case ",", ".":
		mark = rune(dm[0])
	default:
		return ingest.IngestOptions{}, vo, &UsageError{Err: fmt.Errorf(`--decimal-mark %q is not "," or "."`, dm), Hint: "--decimal-mark , (1.234,56) or --decimal-mark . (1,234.56)"}
	}
	for _, x := range []struct {
		flag string
		val  string
		dst  **decimal.Decimal
	}{{"--max-amount", f.maxAmount, &vo.MaxAmount}, {"--max-total", f.maxTotal, &vo.MaxTotal}} {
		if x.val == "" {
			continue
		}
		d, err := decimal.NewFromString(x.val)
		if err != nil || !d.IsPositive() {
			return ingest.IngestOptions{}, vo, &UsageError{Err: fmt.Errorf("%s %q is not a positive amount", x.flag, x.val), Hint: x.flag + " 50000"}
		}
		*x.dst = &d
	}
	return ingest.IngestOptions{SheetName: f.sheetName, DecimalMark: mark}, vo, nil
}

// checkSheet validates the whole sheet and prints every mistake. It returns
// the report; the caller decides what a mistake means (plan and run refuse).
// again is the step after the fix ("run again", "plan it again"): plan
// must not send the user to payrun run with a sheet it just refused.
func (m *Main) checkSheet(ctx context.Context, path string, f sheetFlags, again string) (*ingest.Report, error) {
	io, vo, err := f.options(m.Getenv)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, &UsageError{Err: fmt.Errorf("open sheet: %w", err), Hint: "payrun plan samples/monthly-freelancers.xlsx"}
	}
	// Validation reads the whole sheet, twice for a big one, and takes no
	// context; a signal meanwhile ends the command at once (nothing is
	// locked or paid yet), the reading left to stop with the process.
	type result struct {
		rep *ingest.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := ingest.ValidateFile(path, io, vo)
		done <- result{rep, err}
	}()
	var rep *ingest.Report
	select {
	case <-ctx.Done():
	case r := <-done:
		if r.err != nil {
			return nil, &ExitError{Code: ExitUsage, Err: fmt.Errorf("read sheet %s: %w", path, r.err)}
		}
		rep = r.rep
	}
	// A signal during validation wins even if the check ended too.
	if err := ctx.Err(); err != nil {
		return nil, &ExitError{Code: ExitAborted, Err: fmt.Errorf("check sheet %s: %w", path, err)}
	}
	writeProblems(m.humanOut(), rep, again)
	return rep, nil
}

// writeProblems writes the sheet's mistakes, one a line, then its warnings,
// one line per kind with how many rows have it (10,000 amounts written
// "$1,250.00" are one line, not 10,000), and, when there are mistakes, what
// that means and what to do (fix, then again).
func writeProblems(w io.Writer, rep *ingest.Report, again string) {
	errs, warns := 0, 0
	for _, p := range rep.Problems {
		if p.Severity == sheet.SeverityError {
			errs++
			fmt.Fprintln(w, p.String())
		} else {
			warns++
		}
	}
	for _, s := range sheet.SummarizeWarnings(rep.Problems) {
		fmt.Fprintln(w, s.String())
	}
	if errs > 0 {
		fmt.Fprintf(w, "\n%s: %s, %s, %s. Nothing was paid. Fix the cells named above and %s.\n", rep.Sheet,
			plural.Count(rep.Rows, "row"), plural.Count(errs, "mistake"), plural.Count(warns, "warning"), again)
	}
}

// operator names who ran a command: user@host.
func operator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

// errorsByLine groups a report's error-severity problems by sheet line.
func errorsByLine(rep *ingest.Report) map[int][]string {
	out := map[int][]string{}
	for _, p := range rep.Problems {
		if p.Severity == sheet.SeverityError && p.Line > 0 {
			out[p.Line] = append(out[p.Line], fmt.Sprintf("column %q: %s", p.Column, p.Message))
		}
	}
	return out
}

var errNoSheet = errors.New("no sheet given")

// openRun opens an existing ledger read-only (safe while a run holds it) and
// finds run runID, or the latest run when runID is 0. The caller closes the
// ledger.
func openRun(ctx context.Context, path string, runID int64) (*ledger.Ledger, ledger.Run, error) {
	if err := statLedger(path); errors.Is(err, os.ErrNotExist) {
		// Most often the wrong folder or a forgotten --ledger (make demo
		// keeps its ledger in demo/): a usage error, named plainly.
		return nil, ledger.Run{}, &UsageError{Err: fmt.Errorf("no ledger at %s: payrun run creates it with the first run", path),
			Hint: "payrun status --ledger path/to/payrun.db"}
	} else if err != nil {
		return nil, ledger.Run{}, &ExitError{Code: ExitAborted, Err: fmt.Errorf("open ledger %s: %w", path, err)}
	}
	l, err := openReadOnly(ctx, path)
	if err != nil {
		return nil, ledger.Run{}, err
	}
	var run ledger.Run
	if runID > 0 {
		run, err = l.Run(ctx, runID)
		if errors.Is(err, ledger.ErrNotFound) {
			// Moved by payrun ledger archive: read it where it went.
			if arc, arun, ok, aerr := openArchivedRun(ctx, l, runID); ok {
				l.Close()
				return arc, arun, aerr
			}
		}
	} else {
		run, err = l.LatestRun(ctx)
	}
	switch {
	case errors.Is(err, ledger.ErrNotFound) && runID > 0:
		err = &UsageError{Err: fmt.Errorf("no run %d in %s", runID, path), Hint: "payrun status --ledger " + path}
	case errors.Is(err, ledger.ErrNotFound):
		err = &UsageError{Err: fmt.Errorf("no run in %s yet", path), Hint: "payrun run --sandbox samples/monthly-freelancers.xlsx"}
	case err != nil:
		err = fmt.Errorf("read run: %w", err)
	}
	if err != nil {
		l.Close()
		return nil, ledger.Run{}, err
	}
	return l, run, nil
}

// openReadOnly opens an existing ledger for reading (safe while a run holds
// it). A ledger written by an older payrun is migrated first (forward-only,
// each step one transaction), since a read-only open cannot.
func openReadOnly(ctx context.Context, path string) (*ledger.Ledger, error) {
	l, err := ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
	if !errors.Is(err, ledger.ErrOlderSchema) {
		return l, err
	}
	rw, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		return nil, err
	}
	if err := rw.Close(); err != nil {
		return nil, err
	}
	return ledger.Open(ctx, path, ledger.Options{ReadOnly: true})
}

// lockLedger takes the ledger's single-writer lock for command. When another
// process holds it the error names that process and ends with advice, and
// exits 3: nothing is wrong with the input, try again later.
func lockLedger(ctx context.Context, l *ledger.Ledger, path, command, advice string) (*ledger.Lock, error) {
	lk, err := l.Lock(ctx, ledger.LockOwner{Command: command})
	var le *ledger.LockedError
	switch {
	case errors.As(err, &le):
		return nil, &ExitError{Code: ExitAborted, Err: fmt.Errorf("ledger %s is in use by pid %d on %s since %s (%s); %s",
			path, le.Owner.PID, le.Owner.Host, le.Owner.Started.Format("2006-01-02 15:04:05"), le.Owner.Command, advice)}
	case err != nil:
		return nil, &ExitError{Code: ExitAborted, Err: fmt.Errorf("lock ledger: %w", err)}
	}
	return lk, nil
}
