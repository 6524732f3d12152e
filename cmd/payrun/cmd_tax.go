package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/exports"
	"github.com/payrun/payrun/internal/plural"
)

// TaxCommand exports each payee's total for a tax year, for 1099 and 1042-S
// forms: payees at or above the threshold marked, those without a tax id
// listed on a second sheet.
type TaxCommand struct{}

const taxUsage = "--year YYYY [--threshold 600] [--out FILE.xlsx|FILE.csv]"

// Run writes the tax export. It exits 1 when a payee at or above the
// threshold has no tax id: their form cannot be filed yet.
func (c *TaxCommand) Run(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlagSet("tax", taxUsage)
	var env payeeEnv
	env.register(fs)
	year := fs.Int("year", time.Now().Year()-1, "tax year (default: last year)")
	thresholdText := fs.String("threshold", exports.Default1099Threshold.String(), "1099 threshold in USD: payees paid at least this much are marked")
	out := fs.String("out", "", "the export (default tax-YYYY.xlsx; a .csv path writes the missing-tax-id list beside it)")
	hint := "payrun tax --year 2025 --out tax-2025.xlsx"
	if err := m.parseFlags(fs, args, hint); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return &UsageError{Err: fmt.Errorf("unexpected argument %q", fs.Arg(0)), Hint: hint}
	}
	threshold, err := decimal.NewFromString(strings.TrimSpace(*thresholdText))
	if err != nil || threshold.IsNegative() {
		return &UsageError{Err: fmt.Errorf("threshold %q is not an amount in USD", *thresholdText), Hint: hint}
	}
	if *year < 1970 || *year > 9999 {
		return &UsageError{Err: errors.New("--year must be a year such as 2025"), Hint: hint}
	}
	path := *out
	if path == "" {
		path = fmt.Sprintf("tax-%d.xlsx", *year)
	}
	s, err := env.open(ctx, m, false)
	if err != nil {
		return err
	}
	defer s.close()
	rep, err := exports.BuildTaxReport(ctx, s.conn.Client, *year, threshold)
	if err != nil {
		return exportFailure("read tax balances", err)
	}
	paths, err := exports.WriteTaxReport(path, rep)
	if err != nil {
		return err
	}
	missing := rep.MissingTaxIDs()
	blocking := 0
	for _, p := range missing {
		if p.AtThreshold {
			blocking++
		}
	}
	fmt.Fprintf(m.humanOut(), "%d: %s paid, %d at or above %s USD, %d without a tax id (%d of them at or above). Wrote %s\n",
		rep.Year, plural.Count(len(rep.Payees), "payee"), rep.AtThreshold(), threshold, len(missing), blocking, strings.Join(paths, ", "))
	if blocking > 0 {
		fmt.Fprintf(m.humanOut(), "Ask the %s listed on the %q sheet for their SSN, EIN or ITIN before filing.\n", plural.Count(blocking, "payee"), exports.SheetMissingTaxID)
		return Attention()
	}
	return nil
}
