package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/internal/plural"
)

// HistoryCommand exports every user's transactions in a date range to XLSX
// or CSV for the books.
type HistoryCommand struct {
	api    apiFlags
	log    logFlags
	from   string
	to     string
	out    string
	format string
}

const historyUsage = "--from YYYY-MM-DD --to YYYY-MM-DD [--out FILE] [--format xlsx|csv] [api flags]"

// Run writes the export.
func (c *HistoryCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("history", historyUsage)
	c.api.register(fs)
	c.log.register(fs)
	fs.StringVar(&c.from, "from", "", "first day (required)")
	fs.StringVar(&c.to, "to", "", "last day, inclusive (required)")
	fs.StringVar(&c.out, "out", "", "file to write (default history-FROM-TO.xlsx)")
	fs.StringVar(&c.format, "format", "", "xlsx or csv (default: from --out's extension, else xlsx)")
	hint := "payrun history --from 2025-03-01 --to 2025-03-31 --out march-history.xlsx"
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() > 0 || c.from == "" || c.to == "" {
		return &UsageError{Err: errors.New("--from and --to are required"), Hint: hint}
	}
	from, err := time.Parse(time.DateOnly, c.from)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("parse --from: %w", err), Hint: hint}
	}
	to, err := time.Parse(time.DateOnly, c.to)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("parse --to: %w", err), Hint: hint}
	}
	if to.Before(from) {
		return &UsageError{Err: errors.New("--to is before --from"), Hint: hint}
	}
	formatText := c.format
	if formatText == "" && c.out != "" {
		formatText = strings.ToLower(filepath.Ext(c.out))
	}
	format, err := results.ParseResultsFormat(formatText)
	if err != nil {
		return &UsageError{Err: err, Hint: hint}
	}
	out := c.out
	if out == "" {
		out = fmt.Sprintf("history-%s-%s.%s", c.from, c.to, format)
	}
	log, closeLog, err := m.logger(c.log)
	if err != nil {
		return err
	}
	defer closeLog()
	conn, err := m.openAPI(ctx, c.api, log, m.defaultLedger("", c.api.sandbox))
	if err != nil {
		return err
	}
	defer conn.Close()
	sum, err := exports.ExportHistory(ctx, conn.Client, from, to, out, exports.HistoryOptions{Format: format})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Wrote %s (%s, %s to %s)\n", sum.Path, plural.Count(sum.Rows, "transaction"), c.from, c.to)
	return nil
}
