package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// ReportCommand regenerates the results workbook of a run from the ledger:
// after a crash, for a past month, or as CSV for another system.
type ReportCommand struct {
	ledgerPath  string
	sandbox     bool
	runID       int64
	out         string
	format      string
	resultsMode fileModeFlag
}

const reportUsage = "[--ledger FILE | --sandbox] [--run ID] [--out FILE|-] [--format xlsx|csv] [--results-mode 0600]"

// Run writes the report.
func (c *ReportCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("report", reportUsage)
	ledgerFlag(fs, &c.ledgerPath)
	sandboxLedgerFlag(fs, &c.sandbox)
	runIDFlag(fs, &c.runID)
	fs.StringVar(&c.out, "out", "", "where to write the results (default: where the run wrote them, else <sheet>.results.xlsx next to the run's sheet; never into an inbox's incoming/, DIR/results/ instead); - writes the rows to standard output, as CSV unless --format xlsx (refused to a terminal), and what they say to stderr")
	fs.StringVar(&c.format, "format", "", "xlsx or csv (default: from --out's extension, csv for --out -, else xlsx)")
	fs.Var(&c.resultsMode, "results-mode", resultsModeUsage)
	if err := m.parseFlags(fs, args, "payrun report --run 3 --out march.results.xlsx"); err != nil {
		return err
	}
	// The same default as payrun status: after payrun run --sandbox,
	// payrun report --sandbox reads payrun-sandbox.db.
	c.ledgerPath = m.defaultLedger(c.ledgerPath, c.sandbox)
	if fs.NArg() > 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: "payrun report " + reportUsage}
	}
	formatText := c.format
	toStdout := c.out == "-"
	if formatText == "" && toStdout {
		// Piped into another tool or a script: CSV is what reads.
		formatText = "csv"
	}
	if formatText == "" && c.out != "" {
		if ext := strings.ToLower(filepath.Ext(c.out)); ext == ".csv" || ext == ".xlsx" {
			formatText = ext
		}
	}
	format, err := results.ParseResultsFormat(formatText)
	if err != nil {
		return &UsageError{Err: err, Hint: "payrun report --format csv"}
	}
	if toStdout && format == ingest.FormatXLSX && m.isTerminal(m.Stdout) {
		return &UsageError{Err: errors.New("report: will not write a workbook to a terminal"),
			Hint: "payrun report --out - --format xlsx > results.xlsx, or --out - --format csv to read it here"}
	}

	l, run, err := openRun(ctx, c.ledgerPath, c.runID)
	if err != nil {
		return err
	}
	defer l.Close()
	if toStdout {
		return c.writeStdout(ctx, m, l, run, format)
	}

	out := c.out
	if root, ok := inboxOfIncoming(filepath.Dir(out)); out != "" && ok {
		return &UsageError{Err: fmt.Errorf("write results into %s: the inbox would take them for a new sheet", filepath.Dir(out)),
			Hint: fmt.Sprintf("payrun report --run %d --out %s", run.ID, shellQuote(filepath.Join(root, inboxResultsDir, filepath.Base(out))))}
	}
	if out == "" {
		if out, format, err = reportDefaultPath(ctx, l, run, c.format); err != nil {
			return err
		}
		// A run of a sheet in an inbox's incoming folder (recorded by an
		// older payrun, or run there by hand) writes its results into
		// DIR/results instead: in incoming the next tick would take them
		// for a sheet.
		if root, ok := inboxOfIncoming(filepath.Dir(out)); ok {
			dir := filepath.Join(root, inboxResultsDir)
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return &ExitError{Code: ExitAborted, Err: fmt.Errorf("create inbox results folder: %w", err)}
			}
			out = filepath.Join(dir, filepath.Base(out))
			fmt.Fprintf(m.Stdout, "Not written beside the sheet in the inbox's incoming folder (the inbox would take it for a sheet to pay): writing into %s\n", dir)
		}
	}
	flips, err := reconcile.LedgerFlips(ctx, l, run.ID)
	if err != nil {
		return fmt.Errorf("read flips: %w", err)
	}
	sum, err := results.WriteResults(ctx, l, run.ID, out, results.ResultsOptions{Format: format, Flips: flips, Mode: c.resultsMode.mode})
	if errors.Is(err, results.ErrOverwriteSheet) {
		return &UsageError{Err: err, Hint: "payrun report --out " + results.DefaultResultsPath(run.SheetName, format)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, describeResults(sum))
	return nil
}

// writeStdout writes the run's results (the rows only) to standard output
// and what they say to stderr, for payrun report --out -. The results
// writers write files atomically, so they write into a private temporary
// folder that is copied out and removed.
func (c *ReportCommand) writeStdout(ctx context.Context, m *Main, l *ledger.Ledger, run ledger.Run, format ingest.Format) error {
	flips, err := reconcile.LedgerFlips(ctx, l, run.ID)
	if err != nil {
		return fmt.Errorf("read flips: %w", err)
	}
	tmp, err := os.MkdirTemp("", "payrun-report-")
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("create temporary folder: %w", err)}
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(tmp, fmt.Sprintf("run-%d.results.%s", run.ID, format))
	sum, err := results.WriteResults(ctx, l, run.ID, path, results.ResultsOptions{Format: format, Flips: flips, Mode: 0o600})
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read results: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(m.Stdout, f); err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("write results to standard output: %w", err)}
	}
	sum.Path = "the results to standard output"
	note := ""
	if sum.SummaryPath != "" {
		// The CSV Summary (and flips) are files of their own: with
		// stdout there is one stream, the rows.
		note = fmt.Sprintf("\nThe Summary CSV (conflicts, flips) is not printed: payrun report --run %d --out FILE.csv writes it beside FILE.csv.", run.ID)
		sum.SummaryPath, sum.FlipsPath = "", ""
	}
	fmt.Fprintln(m.Stderr, describeResults(sum)+note)
	return nil
}

// describeResults is the one-paragraph story of a results file for the
// terminal: where it is and what it says.
func describeResults(sum results.ResultsSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Wrote %s (run %d, %s", sum.Path, sum.RunID, plural.Count(sum.Rows, "row"))
	for _, k := range results.ResultKinds {
		if n := sum.Counts[k]; n > 0 {
			fmt.Fprintf(&b, ", %d %s", n, k)
		}
	}
	b.WriteString(")")
	if sum.SummaryPath != "" {
		fmt.Fprintf(&b, "\nSummary: %s", sum.SummaryPath)
	}
	if sum.FlipsPath != "" {
		fmt.Fprintf(&b, "\nFlips: %s", sum.FlipsPath)
	}
	for _, t := range sum.Totals {
		// 0.00 USD, not 0, and 1,234.50: as payrun run prints it.
		c := t.Currency
		fmt.Fprintf(&b, "\n%s: paid %s, fees %s, not paid %s", c, sheet.FormatAmount(t.Paid, c), sheet.FormatAmount(t.Fees, c), sheet.FormatAmount(t.NotPaid, c))
	}
	// Paid is what this run moved; other runs' payments are named apart.
	if t := sum.EarlierText(); t != "" {
		fmt.Fprintf(&b, "\n%s; not paid again", t)
	}
	if t := sum.LaterText(); t != "" {
		fmt.Fprintf(&b, "\n%s", t)
	}
	if sum.NeedsAction > 0 {
		fmt.Fprintf(&b, "\n%s %s action: see the \"Needs action\" sheet, or the action_needed column.", plural.Count(sum.NeedsAction, "row"), plural.Verb(sum.NeedsAction, "needs", "need"))
	}
	return b.String()
}
