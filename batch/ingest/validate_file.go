package ingest

import (
	"fmt"
	"io"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
	"github.com/shopspring/decimal"
)

// Report is the outcome of ValidateFile.
type Report struct {
	Sheet    string
	Rows     int
	Totals   map[string]decimal.Decimal // source currency -> sum of source amounts
	Problems sheet.Problems             // sorted by row; header problems first
}

// OK reports whether the sheet may be paid: it has no errors (warnings are
// fine).
func (r *Report) OK() bool { return !r.Problems.HasErrors() }

// ValidateFile streams the sheet at path through ingest and validation and
// returns every problem at once. Its memory does not grow with the rows:
// past a few tens of thousands of rows, duplicate detection switches to
// fixed-size filters and, when they flag candidates, reads the file a
// second time to confirm them exactly (see dupes.go). The error is only for
// a file that cannot be read as a sheet at all (missing, not a spreadsheet,
// no header row) or that changes between the two reads; every mistake in
// the sheet's content is in Report.Problems.
//
// The CLI's "print every mistake, exit 2" is:
//
//	rep, err := batch.ValidateFile(path, batch.IngestOptions{}, vopts)
//	if err != nil { return usage(err) }
//	for _, p := range rep.Problems { fmt.Fprintln(stderr, p) }
//	if !rep.OK() { exit 2 }
func ValidateFile(path string, iopts IngestOptions, vopts validate.ValidateOptions) (*Report, error) {
	r, err := Open(path, iopts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	rep := &Report{Sheet: r.Name(), Problems: r.HeaderProblems()}
	v := validate.NewValidator(r.Name(), r.Columns(), vopts)
	// The file can be read again, so duplicate detection may keep its
	// memory bounded and confirm its candidates with a second read.
	v.BoundDuplicates()
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", r.Name(), err)
		}
		rep.Problems = v.CheckAppend(rep.Problems, row)
	}
	rep.Problems, err = v.ResolveDuplicates(rep.Problems, func(visit func(sheet.Row)) error {
		r2, err := Open(path, iopts)
		if err != nil {
			return err
		}
		defer r2.Close()
		for {
			row, err := r2.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("read %s again: %w", r2.Name(), err)
			}
			visit(row)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", r.Name(), err)
	}
	rep.Problems = append(rep.Problems, v.Finish()...)
	rep.Problems.Sort()
	rep.Rows, rep.Totals = v.Rows(), v.Totals()
	return rep, nil
}
