package batch

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/xuri/excelize/v2"
)

// Sheet names of the results workbook.
const (
	SheetResults     = "Results"
	SheetSummary     = "Summary"
	SheetNeedsAction = "Needs action"
	SheetConflicts   = "Conflicts"
	SheetFlips       = "Flips"
)

// widthSampleRows is how many rows are held back to size the columns before
// the first row is streamed: enough to see typical values, bounded so memory
// stays flat for a million rows.
const widthSampleRows = 200

// maxSheetLinks is how many clickable links one sheet carries; Excel allows
// 65,530. Later links are written as plain text, still a readable URL.
const maxSheetLinks = excelize.TotalSheetHyperlinks - 1

// writeResultsXLSX streams the run from src into a workbook at path.
func writeResultsXLSX(ctx context.Context, src ResultsSource, run ResultsRun, path string, opts ResultsOptions) (ResultsSummary, error) {
	bk := newXLSXBook()
	defer bk.Close()
	f := bk.f

	if err := f.SetSheetName("Sheet1", SheetResults); err != nil {
		return ResultsSummary{}, fmt.Errorf("name results sheet: %w", err)
	}
	names := []string{SheetSummary, SheetNeedsAction, SheetConflicts}
	if len(opts.Flips) > 0 {
		names = append(names, SheetFlips)
	}
	for _, n := range names {
		if _, err := f.NewSheet(n); err != nil {
			return ResultsSummary{}, fmt.Errorf("add sheet %s: %w", n, err)
		}
	}

	// Print setup goes in before streaming starts: the stream writes the
	// sheet properties first. The narrow sheets print landscape, one page
	// wide. Results carries every column of the sheet (forty and more for a
	// real payout sheet), which squeezed onto one page width is unreadable:
	// it prints at 65% across as many pages as it needs, with the
	// header row repeated on each.
	for _, n := range names {
		if err := f.SetSheetProps(n, &excelize.SheetPropsOptions{FitToPage: ptr(true)}); err != nil {
			return ResultsSummary{}, fmt.Errorf("set up printing of %s: %w", n, err)
		}
		if err := f.SetPageLayout(n, &excelize.PageLayoutOptions{Orientation: ptr("landscape"), FitToWidth: ptr(1), FitToHeight: ptr(0)}); err != nil {
			return ResultsSummary{}, fmt.Errorf("set up printing of %s: %w", n, err)
		}
	}
	if err := f.SetPageLayout(SheetResults, &excelize.PageLayoutOptions{Orientation: ptr("landscape"), AdjustTo: ptr(uint(65))}); err != nil {
		return ResultsSummary{}, fmt.Errorf("set up printing of %s: %w", SheetResults, err)
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: SheetResults + "!$1:$1", Scope: SheetResults}); err != nil {
		return ResultsSummary{}, fmt.Errorf("set up printing of %s: %w", SheetResults, err)
	}

	results, err := bk.sheet(SheetResults)
	if err != nil {
		return ResultsSummary{}, err
	}
	needs, err := bk.sheet(SheetNeedsAction)
	if err != nil {
		return ResultsSummary{}, err
	}

	sb := newSummaryBuilder(run.ID)
	var (
		headers []string
		sample  []ResultRow
		started bool
		cells   []outCell
		emit    func(*ResultRow) error
	)
	start := func() error {
		started = true
		if len(sample) > 0 {
			headers = inputHeaders(&sample[0])
		}
		if err := results.begin(resultsWidths(headers, sample), resultsHeader(headers), len(headers)); err != nil {
			return err
		}
		if err := needs.begin(needsActionWidths(sample), NeedsActionColumns, len(NeedsActionColumns)); err != nil {
			return err
		}
		for i := range sample {
			if err := emit(&sample[i]); err != nil {
				return err
			}
		}
		sample = nil
		return nil
	}
	emit = func(r *ResultRow) error {
		sb.add(r)
		k := r.Result()
		cells = resultCells(inputCells(cells[:0], r, headers), r)
		if err := results.write(cells, fillOf(k), len(headers)); err != nil {
			return err
		}
		if k.NeedsPerson() {
			cells = needsActionCells(cells[:0], r)
			if err := needs.write(cells, fillOf(k), 5); err != nil {
				return err
			}
		}
		return nil
	}
	work := 0
	err = src.ResultRows(ctx, func(r *ResultRow) error {
		// A signal is heard every few thousand rows, or sooner when the
		// rows are wide: the count is of cells.
		if work += 1 + len(r.Input); work >= ctxCheckCells {
			work = 0
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !started {
			if len(sample) < widthSampleRows {
				sample = append(sample, cloneResultRow(r))
				return nil
			}
			if err := start(); err != nil {
				return err
			}
		}
		return emit(r)
	})
	if err != nil {
		return ResultsSummary{}, fmt.Errorf("read result rows: %w", err)
	}
	if !started {
		if err := start(); err != nil {
			return ResultsSummary{}, err
		}
	}
	if err := results.finish(true); err != nil {
		return ResultsSummary{}, err
	}
	if needs.row == 1 {
		if err := needs.write([]outCell{{}, textCell("No row needs action.")}, fillGreen, -1); err != nil {
			return ResultsSummary{}, err
		}
	}
	if err := needs.finish(true); err != nil {
		return ResultsSummary{}, err
	}

	conflicts, err := writeConflictsXLSX(ctx, bk, src)
	if err != nil {
		return ResultsSummary{}, err
	}
	if len(opts.Flips) > 0 {
		if err := writeFlipsXLSX(bk, opts.Flips); err != nil {
			return ResultsSummary{}, err
		}
	}
	if err := writeSummaryXLSX(bk, summaryLines(run, sb, conflicts, opts.Now)); err != nil {
		return ResultsSummary{}, err
	}

	// No SetActiveSheet: Results is Sheet1, the workbook's active tab from
	// the start, and SetActiveSheet would load and re-marshal every streamed
	// sheet (half the time of writing the workbook).
	_ = f.SetDocProps(&excelize.DocProperties{
		Title:   fmt.Sprintf("payrun results, run %d", run.ID),
		Creator: "payrun",
		Created: opts.Now.UTC().Format(time.RFC3339),
	})
	if err := writeAtomicMode(path, opts.Mode, bk.writeTo); err != nil {
		return ResultsSummary{}, err
	}
	sum := sb.summary(run.ID)
	sum.Path, sum.Conflicts = path, conflicts
	return sum, nil
}

// cloneResultRow copies r deeply enough to outlive the source's callback.
func cloneResultRow(r *ResultRow) ResultRow {
	c := *r
	c.Input = append([]sheet.InputField(nil), r.Input...)
	return c
}

func writeConflictsXLSX(ctx context.Context, bk *xlsxBook, src ResultsSource) (int, error) {
	s, err := bk.sheet(SheetConflicts)
	if err != nil {
		return 0, err
	}
	if err := s.begin([]float64{11, 26, 24, 30, 30, 17}, ConflictColumns, len(ConflictColumns)); err != nil {
		return 0, err
	}
	count := 0
	var cells []outCell
	err = src.ResultConflicts(ctx, func(c *ConflictRow) error {
		count++
		for _, l := range conflictLines(c) {
			cells = append(cells[:0], l...)
			if err := s.write(cells, fillRed, -1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read conflicts: %w", err)
	}
	if count == 0 {
		if err := s.write([]outCell{{}, textCell("No conflicts: no client_transfer_id in this sheet clashed with the ledger.")}, fillNone, -1); err != nil {
			return 0, err
		}
	}
	return count, s.finish(count > 0)
}

// conflictLines lays a conflict out one line per differing field.
func conflictLines(c *ConflictRow) [][]outCell {
	since := outCell{}
	if c.FirstRunID > 0 {
		since = intCell(c.FirstRunID)
	}
	head := []outCell{intCell(int64(c.SheetLine)), textCell(c.ClientTransferID)}
	if len(c.Fields) == 0 {
		return [][]outCell{append(head, outCell{}, outCell{}, outCell{}, since)}
	}
	out := make([][]outCell, 0, len(c.Fields))
	for _, f := range c.Fields {
		out = append(out, append(append([]outCell{}, head...), textCell(f.Field), textCell(f.Sheet), textCell(f.Ledger), since))
	}
	return out
}

func writeFlipsXLSX(bk *xlsxBook, flips []Flip) error {
	s, err := bk.sheet(SheetFlips)
	if err != nil {
		return err
	}
	if err := s.begin([]float64{26, 24, 14, 14, 18, 22, 60}, FlipColumns, len(FlipColumns)); err != nil {
		return err
	}
	var cells []outCell
	for i := range flips {
		cells = flipCells(cells[:0], &flips[i])
		if err := s.write(cells, fillRed, -1); err != nil {
			return err
		}
	}
	return s.finish(true)
}

func writeSummaryXLSX(bk *xlsxBook, lines []summaryLine) error {
	s, err := bk.sheet(SheetSummary)
	if err != nil {
		return err
	}
	for i, w := range []float64{22, 24, 22, 20, 20, 20, 20, 20} {
		if err := s.sw.SetColWidth(i+1, i+1, w); err != nil {
			return fmt.Errorf("size summary column: %w", err)
		}
	}
	for _, l := range lines {
		if err := s.writeLine(l); err != nil {
			return err
		}
	}
	return s.finish(false)
}

// resultsWidths sizes the Results columns from the header and a sample.
func resultsWidths(headers []string, sample []ResultRow) []float64 {
	all := resultsHeader(headers)
	w := make([]float64, len(all))
	for i, h := range all {
		w[i] = float64(utf8.RuneCountInString(h)) + 3 // room for the filter button
	}
	var cells []outCell
	for i := range sample {
		cells = resultCells(inputCells(cells[:0], &sample[i], headers), &sample[i])
		for j, c := range cells {
			w[j] = max(w[j], displayWidth(c))
		}
	}
	for i, h := range all {
		limit := 40.0
		if i >= len(headers) && (h == "action_needed" || h == "error") {
			limit = 70
		}
		w[i] = min(max(w[i], 9), limit)
	}
	return w
}

func needsActionWidths(sample []ResultRow) []float64 {
	w := make([]float64, len(NeedsActionColumns))
	for i, h := range NeedsActionColumns {
		w[i] = float64(len(h)) + 3
	}
	var cells []outCell
	for i := range sample {
		if !sample[i].Result().NeedsPerson() {
			continue
		}
		cells = needsActionCells(cells[:0], &sample[i])
		for j, c := range cells {
			w[j] = max(w[j], displayWidth(c))
		}
	}
	for i, h := range NeedsActionColumns {
		limit := 40.0
		if h == "action_needed" {
			limit = 70
		}
		w[i] = min(max(w[i], 9), limit)
	}
	return w
}

// displayWidth estimates the characters c takes on screen.
func displayWidth(c outCell) float64 {
	switch c.kind {
	case cellText, cellLink:
		// Bold result words and proportional fonts run wider than a
		// character per unit: pad by a tenth and two.
		return float64(utf8.RuneCountInString(c.text))*1.1 + 2
	case cellAmount:
		s := c.num.StringFixed(currencyDecimals(c.cur))
		return float64(len(s)+len(s)/3) + 8 // separators, the code, the indent
	case cellRate:
		return float64(len(c.num.String())) + 3
	case cellDate:
		return 21
	case cellInt:
		return 8
	}
	return 0
}
