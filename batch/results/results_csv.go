package results

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
)

// utf8BOM starts every CSV so Excel reads it as UTF-8 and José stays José.
const utf8BOM = "\ufeff"

// csvSink writes rows of cells as CSV.
type csvSink struct {
	bw  *bufio.Writer
	cw  *csv.Writer
	rec []string
}

func newCSVSink(w io.Writer) (*csvSink, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(utf8BOM); err != nil {
		return nil, err
	}
	return &csvSink{bw: bw, cw: csv.NewWriter(bw)}, nil
}

func (s *csvSink) header(h []string) error {
	s.rec = s.rec[:0]
	for _, v := range h {
		s.rec = append(s.rec, InertText(v))
	}
	return s.cw.Write(s.rec)
}

func (s *csvSink) write(cells []Cell) error {
	s.rec = s.rec[:0]
	for _, c := range cells {
		s.rec = append(s.rec, c.csvText())
	}
	return s.cw.Write(s.rec)
}

func (s *csvSink) close() error {
	s.cw.Flush()
	if err := s.cw.Error(); err != nil {
		return err
	}
	return s.bw.Flush()
}

// writeResultsCSV writes the run's rows to path, its summary (with its
// conflicts) to SummaryCSVPath(path) and any flips to FlipsCSVPath(path).
// The rows stream through; only the Summary's bounded figures are kept.
func writeResultsCSV(ctx context.Context, src ResultsSource, run ResultsRun, path string, opts ResultsOptions) (ResultsSummary, error) {
	sb := newSummaryBuilder(run.ID)
	err := WriteAtomicMode(path, opts.Mode, func(w io.Writer) error {
		out, err := newCSVSink(w)
		if err != nil {
			return fmt.Errorf("write results csv: %w", err)
		}
		var (
			lay     *resultsLayout
			started bool
			cells   []Cell
			work    int
		)
		err = src.ResultRows(ctx, func(r *ResultRow) error {
			if work += 1 + len(r.Input); work >= ctxCheckCells {
				work = 0
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if !started {
				started = true
				lay = newResultsLayout(inputHeaders(r))
				if err := out.header(lay.names); err != nil {
					return fmt.Errorf("write results csv: %w", err)
				}
			}
			sb.add(r)
			cells = lay.cells(cells[:0], r)
			if err := out.write(cells); err != nil {
				return fmt.Errorf("write results csv: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read result rows: %w", err)
		}
		if !started {
			if err := out.header(ResultColumns); err != nil {
				return fmt.Errorf("write results csv: %w", err)
			}
		}
		if err := out.close(); err != nil {
			return fmt.Errorf("write results csv: %w", err)
		}
		return nil
	})
	if err != nil {
		return ResultsSummary{}, err
	}

	// Conflicts are few and need the Summary written first in the file, so
	// they are gathered, then the Summary counts them.
	var conflicts []ConflictRow
	err = src.ResultConflicts(ctx, func(c *ConflictRow) error {
		cc := *c
		cc.Fields = append([]ConflictField(nil), c.Fields...)
		conflicts = append(conflicts, cc)
		return nil
	})
	if err != nil {
		return ResultsSummary{}, fmt.Errorf("read conflicts: %w", err)
	}
	summaryPath := SummaryCSVPath(path)
	err = WriteAtomicMode(summaryPath, opts.Mode, func(w io.Writer) error {
		out, err := newCSVSink(w)
		if err != nil {
			return fmt.Errorf("write summary csv: %w", err)
		}
		for _, l := range summaryLines(run, sb, len(conflicts), opts.Now, opts.Warnings) {
			if err := out.write(l.cells); err != nil {
				return fmt.Errorf("write summary csv: %w", err)
			}
		}
		if len(conflicts) > 0 {
			_ = out.write(nil)
			if err := out.header(ConflictColumns); err != nil {
				return fmt.Errorf("write summary csv: %w", err)
			}
			for i := range conflicts {
				for _, l := range conflictLines(&conflicts[i]) {
					if err := out.write(l); err != nil {
						return fmt.Errorf("write summary csv: %w", err)
					}
				}
			}
		}
		if err := out.close(); err != nil {
			return fmt.Errorf("write summary csv: %w", err)
		}
		return nil
	})
	if err != nil {
		return ResultsSummary{}, err
	}

	sum := sb.summary(run.ID)
	sum.Path, sum.SummaryPath, sum.Conflicts = path, summaryPath, len(conflicts)
	if len(opts.Flips) > 0 {
		sum.FlipsPath = FlipsCSVPath(path)
		err = WriteAtomicMode(sum.FlipsPath, opts.Mode, func(w io.Writer) error {
			out, err := newCSVSink(w)
			if err != nil {
				return fmt.Errorf("write flips csv: %w", err)
			}
			if err := out.header(FlipColumns); err != nil {
				return fmt.Errorf("write flips csv: %w", err)
			}
			var cells []Cell
			for i := range opts.Flips {
				if err := out.write(flipCells(cells[:0], &opts.Flips[i])); err != nil {
					return fmt.Errorf("write flips csv: %w", err)
				}
			}
			return out.close()
		})
		if err != nil {
			return ResultsSummary{}, err
		}
	}
	return sum, nil
}
