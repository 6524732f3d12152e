package ingest

import (
	"errors"
	"sync"
)

// errReaderStopped is returned by a read after the sheet was closed.
var errReaderStopped = errors.New("sheet reader closed")

// readAhead runs a row reader on its own goroutine, a few hundred rows
// ahead of the caller, so that on a machine with two cores unzipping and
// scanning the worksheet overlaps with building and validating rows (each
// is about half of the work). At most aheadBatches batches wait in the
// channel, so memory stays bounded whatever the sheet's length.
type readAhead struct {
	ch    chan []aheadRow
	done  chan struct{}
	wg    sync.WaitGroup
	batch []aheadRow
	i     int
	err   error // the error that ended the reader, once reached
}

type aheadRow struct {
	line  int
	cells []string
	kinds cellBits // which cells were text or formulas, see xlsxSource
	err   error
}

const (
	aheadBatchRows = 256
	aheadBatches   = 4
)

// startReadAhead starts calling read until it returns an error; read must
// return cells the caller may keep (they are copied before the next call).
func startReadAhead(read func() (int, []string, cellBits, error)) *readAhead {
	a := &readAhead{ch: make(chan []aheadRow, aheadBatches), done: make(chan struct{})}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer close(a.ch)
		batch := make([]aheadRow, 0, aheadBatchRows)
		for {
			line, cells, bits, err := read()
			batch = append(batch, aheadRow{line: line, cells: append([]string(nil), cells...), kinds: bits, err: err})
			if len(batch) == aheadBatchRows || err != nil {
				select {
				case a.ch <- batch:
				case <-a.done:
					return
				}
				if err != nil {
					return
				}
				batch = make([]aheadRow, 0, aheadBatchRows)
			}
		}
	}()
	return a
}

// next returns the next row, or the reader's final error (io.EOF at the
// end) again and again once reached.
func (a *readAhead) next() (int, []string, cellBits, error) {
	if a.err != nil {
		return 0, nil, cellBits{}, a.err
	}
	for a.i == len(a.batch) {
		b, ok := <-a.ch
		if !ok {
			// Only after stop; the reader always sends its final error.
			return 0, nil, cellBits{}, errReaderStopped
		}
		a.batch, a.i = b, 0
	}
	r := a.batch[a.i]
	a.batch[a.i] = aheadRow{}
	a.i++
	if r.err != nil {
		a.err = r.err
		return 0, nil, cellBits{}, r.err
	}
	return r.line, r.cells, r.kinds, nil
}

// stop ends the reader and waits for it, so the source can be closed under
// it safely.
func (a *readAhead) stop() {
	close(a.done)
	a.wg.Wait()
	if a.err == nil {
		a.err = errReaderStopped
	}
}
