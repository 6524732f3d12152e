package results

import (
	"context"
	"fmt"
	"strings"
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

	// The narrow sheets print landscape, one page wide. Results and
	// Needs action are set up once their widths are known (printSetup).
	for _, n := range names {
		if n == SheetNeedsAction {
			continue
		}
		if err := f.SetSheetProps(n, &excelize.SheetPropsOptions{FitToPage: ptr(true)}); err != nil {
			return ResultsSummary{}, fmt.Errorf("set up printing of %s: %w", n, err)
		}
		if err := f.SetPageLayout(n, &excelize.PageLayoutOptions{Orientation: ptr("landscape"), FitToWidth: ptr(1), FitToHeight: ptr(0)}); err != nil {
			return ResultsSummary{}, fmt.Errorf("set up printing of %s: %w", n, err)
		}
	}

	var results, needs *xlsxSheet
	sb := newSummaryBuilder(run.ID)
	var (
		lay     = newResultsLayout(nil)
		sample  []ResultRow
		started bool
		cells   []Cell
		emit    func(*ResultRow) error
	)
	start := func() error {
		started = true
		if len(sample) > 0 {
			lay = newResultsLayout(inputHeaders(&sample[0]))
		}
		// Print setup goes in before a sheet's stream starts: the stream
		// writes the sheet properties first.
		widths := resultsWidths(lay, sample)
		if err := printSetup(f, SheetResults, widths, resultsTitleColumns); err != nil {
			return err
		}
		nwidths := needsActionWidths(sample)
		if err := printSetup(f, SheetNeedsAction, nwidths, needsActionTitleColumns); err != nil {
			return err
		}
		var err error
		if results, err = bk.sheet(SheetResults); err != nil {
			return err
		}
		if needs, err = bk.sheet(SheetNeedsAction); err != nil {
			return err
		}
		echoFrom, echoTo := lay.echoFrom(), lay.echoTo()
		results.wrap = map[int]bool{5: true, 6: true, 7: true} // action, link, error
		if err := results.begin(widths, lay.names, 1, func(i int) bool { return i >= echoFrom && i < echoTo }); err != nil {
			return err
		}
		needs.wrap = map[int]bool{4: true, 5: true, 6: true} // action, link, error
		if err := needs.begin(nwidths, NeedsActionColumns, 1, func(int) bool { return true }); err != nil {
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
		cells = lay.cells(cells[:0], r)
		if err := results.write(cells, fillOf(k), resultColumnResult); err != nil {
			return err
		}
		if k.NeedsPerson() {
			cells = needsActionCells(cells[:0], r)
			if err := needs.write(cells, fillOf(k), 3); err != nil {
				return err
			}
		}
		return nil
	}
	work := 0
	err := src.ResultRows(ctx, func(r *ResultRow) error {
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
		if err := needs.write([]Cell{TextCell("No row needs action.")}, FillGreen, -1); err != nil {
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
	if err := writeSummaryXLSX(bk, summaryLines(run, sb, conflicts, opts.Now, opts.Warnings)); err != nil {
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
	if err := WriteAtomicMode(path, opts.Mode, bk.writeTo); err != nil {
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
	if err := s.begin([]float64{11, 26, 24, 30, 30, 17}, ConflictColumns, 0, allInput); err != nil {
		return 0, err
	}
	count := 0
	var cells []Cell
	err = src.ResultConflicts(ctx, func(c *ConflictRow) error {
		count++
		for _, l := range conflictLines(c) {
			cells = append(cells[:0], l...)
			if err := s.write(cells, FillRed, -1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read conflicts: %w", err)
	}
	if count == 0 {
		if err := s.write([]Cell{{}, TextCell("No conflicts: no client_transfer_id in this sheet clashed with the ledger.")}, FillNone, -1); err != nil {
			return 0, err
		}
	}
	return count, s.finish(count > 0)
}

// conflictLines lays a conflict out one line per differing field.
func conflictLines(c *ConflictRow) [][]Cell {
	since := Cell{}
	if c.FirstRunID > 0 {
		since = intCell(c.FirstRunID)
	}
	head := []Cell{intCell(int64(c.SheetLine)), TextCell(c.ClientTransferID)}
	if len(c.Fields) == 0 {
		return [][]Cell{append(head, Cell{}, Cell{}, Cell{}, since)}
	}
	out := make([][]Cell, 0, len(c.Fields))
	for _, f := range c.Fields {
		out = append(out, append(append([]Cell{}, head...), TextCell(f.Field), TextCell(f.Sheet), TextCell(f.Ledger), since))
	}
	return out
}

func writeFlipsXLSX(bk *xlsxBook, flips []Flip) error {
	s, err := bk.sheet(SheetFlips)
	if err != nil {
		return err
	}
	if err := s.begin([]float64{26, 24, 14, 14, 18, 22, 60}, FlipColumns, 0, allInput); err != nil {
		return err
	}
	var cells []Cell
	for i := range flips {
		cells = flipCells(cells[:0], &flips[i])
		if err := s.write(cells, FillRed, -1); err != nil {
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
func resultsWidths(lay *resultsLayout, sample []ResultRow) []float64 {
	w := make([]float64, len(lay.names))
	for i, h := range lay.names {
		w[i] = float64(utf8.RuneCountInString(h)) + 3 // room for the filter button
	}
	var cells []Cell
	for i := range sample {
		cells = lay.cells(cells[:0], &sample[i])
		for j, c := range cells {
			w[j] = max(w[j], displayWidth(c))
		}
	}
	for i := range w {
		w[i] = min(max(w[i], 9), columnLimit(i, len(FrontColumns), resultsTitleColumns))
	}
	return w
}

// columnLimit is the widest column i of a sheet may be: the print titles
// (the first titleCols) stay narrow so the columns beside them get the
// page; the wrapped long texts of the first front columns may run wider;
// every other column is cut off on screen past 30 (the whole value is
// in the cell) so a printed page holds more of them.
func columnLimit(i, front, titleCols int) float64 {
	switch {
	case i < titleCols:
		return 22
	case i < front:
		return 36
	}
	return 30
}

func needsActionWidths(sample []ResultRow) []float64 {
	w := make([]float64, len(NeedsActionColumns))
	for i, h := range NeedsActionColumns {
		w[i] = float64(len(h)) + 3
	}
	var cells []Cell
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
		limit := columnLimit(i, 7, needsActionTitleColumns)
		switch h {
		case "action_needed", "error":
			limit = 30
		case "kyc_upload_link":
			// As wide as the links: LibreOffice does not wrap a link, and
			// a link cut off on paper cannot be typed in. It prints on a
			// page of its own beside the id when it does not fit on the
			// first.
			limit = 90
		}
		w[i] = min(max(w[i], 9), limit)
	}
	return w
}

// Print titles: the columns repeated at the left of every printed page
// when a sheet is wider than a page.
const (
	// resultsTitleColumns keeps client_transfer_id, payee, amount,
	// currency and result on every page of the Results.
	resultsTitleColumns = resultColumnResult + 1
	// needsActionTitleColumns keeps client_transfer_id: the sheet is a
	// handful of rows, and its links need the page's width.
	needsActionTitleColumns = 1
)

// readableFitWidth is the most column width (Excel's character units) a
// sheet may have to be fitted to one landscape Letter or A4 page wide:
// beyond it the fitted print would shrink below 70% and small type is
// misread (measured with LibreOffice: a landscape Letter page holds about
// 100 units at 100%).
const readableFitWidth = 140

// unfitScale is the print scale of a sheet too wide to fit a page
// readably: it prints across pages with its title columns repeated.
const unfitScale = 70

// printSetup sets sheet to print landscape: fitted to one page wide when
// its columns (widths) still print readably that way, otherwise at
// unfitScale across pages with its first titleCols columns repeated on
// each. The header row repeats on every page either way.
func printSetup(f *excelize.File, sheet string, widths []float64, titleCols int) error {
	total := 0.0
	for _, w := range widths {
		total += w
	}
	fit := total <= readableFitWidth
	if err := f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: ptr(fit)}); err != nil {
		return fmt.Errorf("set up printing of %s: %w", sheet, err)
	}
	layout := &excelize.PageLayoutOptions{Orientation: ptr("landscape"), AdjustTo: ptr(uint(unfitScale))}
	if fit {
		layout = &excelize.PageLayoutOptions{Orientation: ptr("landscape"), FitToWidth: ptr(1), FitToHeight: ptr(0)}
	}
	if err := f.SetPageLayout(sheet, layout); err != nil {
		return fmt.Errorf("set up printing of %s: %w", sheet, err)
	}
	q := "'" + strings.ReplaceAll(sheet, "'", "''") + "'"
	titles := q + "!$1:$1"
	if !fit && titleCols > 0 {
		last, _ := excelize.ColumnNumberToName(titleCols)
		titles = q + "!$A:$" + last + "," + titles
	}
	if err := f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: titles, Scope: sheet}); err != nil {
		return fmt.Errorf("set up printing of %s: %w", sheet, err)
	}
	return nil
}

// displayWidth estimates the characters c takes on screen.
func displayWidth(c Cell) float64 {
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
	case cellNumber:
		if sheet.IsDateFormat(c.cur) {
			return float64(len(c.cur)) + 4
		}
		return float64(len(c.num.String())*4/3) + 4
	}
	return 0
}
