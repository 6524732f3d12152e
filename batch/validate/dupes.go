package validate

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strings"

	"github.com/payrun/payrun/batch/sheet"
)

// Duplicate detection: a client_transfer_id used twice (an error on both
// rows) and a payee paid the same amount twice (a warning on the later
// row). A Validator remembers a hash and a row number per key, exactly,
// which costs memory in proportion to the rows. ValidateFile, which can read
// its file twice, caps that: past exactDupKeys keys it moves the keys into
// two fixed-size Bloom filters and from then on only notes the rows whose
// key the filters may have seen. Those candidate rows get a placeholder
// problem; once the file has been read, resolveDupes reads it a second time,
// only if there are candidates, finds each candidate key's first and second
// row exactly, and turns each placeholder into the problem the exact method
// would have written, or drops it when the filters were wrong. Memory is
// then the filters plus the candidates, whatever the number of rows, and
// what the user sees is exact.

// exactDupKeys is how many keys (ids and payee+amount pairs together) are
// tracked exactly before switching to the filters: a typical sheet never
// gets there, and needs no second pass however many duplicates it has.
var exactDupKeys = 1 << 16

// dupFilterBytes is the size of each of the two filters (ids, payees). At
// a million rows that is 64 bits a key, where the filter is wrong about
// once in ten billion tests, so a clean million-row sheet is practically
// never read twice; at ten million rows it is still right but for a few
// hundred candidates, each a few dozen bytes and a second read.
var dupFilterBytes = 8 << 20

// ErrFileChanged is returned when the second read of a file finds a
// different number of rows than the first.
var ErrFileChanged = errors.New("the file changed while it was being validated")

// dupIDMessage is the message of a duplicate_id problem: the id, the other row.
const dupIDMessage = "%q is also used on row %d; every row needs its own id"

// dupState is the duplicate detection of one Validator.
type dupState struct {
	// ids maps a client_transfer_id's hash to its first row; the row is
	// negated once that row has been reported as a duplicate.
	ids map[key128]int32
	// payees maps a 64-bit hash of payee+amount to its first row. A
	// collision only costs a spurious double-entry warning, so 64 bits do.
	payees map[uint64]int32

	// bounded is set by ValidateFile: the validator may switch to filters.
	bounded bool
	// idFilter and payeeFilter are set once the validator has switched;
	// rows from the spillAt-th on (counting from 1) were checked by them.
	idFilter, payeeFilter *bloomFilter
	spillAt               int
	pending               []pendingDup
	idCands, payeeCands   map[string]struct{}
}

// pendingDup is a placeholder problem at index of the problems a bounded
// validator returned, for a row whose key the filters may have seen.
type pendingDup struct {
	index  int
	payee  bool
	key    string
	line   int
	format string // the message, with %d for the key's first row
}

func newDupState() dupState {
	return dupState{ids: map[key128]int32{}, payees: map[uint64]int32{}}
}

// payeeKey is what makes two rows the same payment to the same person.
func payeeKey(r sheet.Row) string {
	return strings.ToLower(r.InternalUserID) + "\x1f" + strings.ToLower(r.Email) + "\x1f" + r.Amount.String() + "\x1f" + r.AmountCurrency()
}

// payeeChecked reports whether a row takes part in the double-entry check:
// a positive amount in a known source currency.
func payeeChecked(r sheet.Row) bool {
	_, ok := sheet.LookupCurrency(r.SourceCurrency)
	return ok && r.Amount.Sign() > 0
}

// checkID appends the duplicate_id problems a row's id causes.
func (v *Validator) checkID(ps []sheet.Problem, r sheet.Row, sheetName, id string) []sheet.Problem {
	d := &v.dupes
	const msg = dupIDMessage
	k := hash128(id)
	if d.idFilter != nil {
		if d.idFilter.testAndAdd(k.a) {
			d.pending = append(d.pending, pendingDup{index: len(ps), key: id, line: r.Line, format: strings.Replace(msg, "%q", fmt.Sprintf("%q", id), 1)})
			d.idCands[id] = struct{}{}
			ps = append(ps, sheet.Problem{Sheet: sheetName, Line: r.Line, Column: v.col(sheet.ColClientTransferID), Value: id, Rule: "duplicate_id"})
		}
		return ps
	}
	if first, dup := d.ids[k]; dup {
		line := first
		if line < 0 {
			line = -line
		}
		ps = append(ps, sheet.Problem{Sheet: sheetName, Line: r.Line, Column: v.col(sheet.ColClientTransferID), Value: id, Rule: "duplicate_id", Message: fmt.Sprintf(msg, id, line)})
		if first > 0 {
			d.ids[k] = -first
			ps = append(ps, sheet.Problem{Sheet: sheetName, Line: int(first), Column: v.col(sheet.ColClientTransferID), Value: id, Rule: "duplicate_id",
				Message: fmt.Sprintf(msg, id, r.Line)})
		}
		return ps
	}
	d.ids[k] = int32(r.Line)
	v.maybeSpill()
	return ps
}

// checkPayee appends the possible_double_entry warning of a row paying a
// payee an amount an earlier row already pays them.
func (v *Validator) checkPayee(ps []sheet.Problem, r sheet.Row, sheetName string) []sheet.Problem {
	d := &v.dupes
	key := payeeKey(r)
	h := maphash.String(seedA, key)
	format := func() string {
		return fmt.Sprintf("%s is paid %s %s on row %%d too; check it is not entered twice", payeeText(r), r.Amount, r.AmountCurrency())
	}
	warn := sheet.Problem{Sheet: sheetName, Line: r.Line, Column: v.col(sheet.ColAmount), Value: amountShown(r), Rule: "possible_double_entry", Severity: sheet.SeverityWarning}
	if d.payeeFilter != nil {
		if d.payeeFilter.testAndAdd(h) {
			d.pending = append(d.pending, pendingDup{index: len(ps), payee: true, key: key, line: r.Line, format: format()})
			d.payeeCands[key] = struct{}{}
			ps = append(ps, warn)
		}
		return ps
	}
	if first, ok := d.payees[h]; ok {
		warn.Message = fmt.Sprintf(format(), first)
		return append(ps, warn)
	}
	d.payees[h] = int32(r.Line)
	v.maybeSpill()
	return ps
}

// maybeSpill moves a bounded validator's exact keys into the filters once
// there are exactDupKeys of them.
func (v *Validator) maybeSpill() {
	d := &v.dupes
	if !d.bounded || len(d.ids)+len(d.payees) < exactDupKeys {
		return
	}
	d.idFilter, d.payeeFilter = newBloomFilter(dupFilterBytes), newBloomFilter(dupFilterBytes)
	for k := range d.ids {
		d.idFilter.testAndAdd(k.a)
	}
	for h := range d.payees {
		d.payeeFilter.testAndAdd(h)
	}
	d.ids, d.payees = nil, nil
	d.idCands, d.payeeCands = map[string]struct{}{}, map[string]struct{}{}
	d.spillAt = v.rows + 1
}

// dupOccurrences is where a candidate key occurs, found by the second read.
type dupOccurrences struct {
	n             int
	first, second int // rows
	secondOrd     int // the second row's position among the rows checked
	sheet         string
}

// resolveDupes confirms or drops the placeholders of a bounded validator:
// reread must call visit with every row of the file, in the order Check
// saw them. It returns ps with each confirmed placeholder's message written
// and each unconfirmed one removed, and a duplicate_id problem appended for
// the first row of each id first repeated after the switch to filters.
func (v *Validator) ResolveDuplicates(ps []sheet.Problem, reread func(visit func(sheet.Row)) error) ([]sheet.Problem, error) {
	d := &v.dupes
	if len(d.pending) == 0 {
		return ps, nil
	}
	ids := make(map[string]*dupOccurrences, len(d.idCands))
	payees := make(map[string]*dupOccurrences, len(d.payeeCands))
	note := func(m map[string]*dupOccurrences, key string, r sheet.Row, ord int) {
		o := m[key]
		if o == nil {
			o = &dupOccurrences{first: r.Line, sheet: r.Sheet}
			m[key] = o
		} else if o.n == 1 {
			o.second, o.secondOrd = r.Line, ord
		}
		o.n++
	}
	ord := 0
	err := reread(func(r sheet.Row) {
		ord++
		if _, ok := d.idCands[r.ClientTransferID]; ok && r.ClientTransferID != "" {
			note(ids, r.ClientTransferID, r, ord)
		}
		if len(d.payeeCands) > 0 && payeeChecked(r) {
			if key := payeeKey(r); key != "" {
				if _, ok := d.payeeCands[key]; ok {
					note(payees, key, r, ord)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if ord != v.rows {
		return nil, fmt.Errorf("%w: %d rows the first time, %d the second", ErrFileChanged, v.rows, ord)
	}
	drop := make(map[int]bool)
	for _, p := range d.pending {
		m := ids
		if p.payee {
			m = payees
		}
		if o := m[p.key]; o != nil && o.n >= 2 && p.line != o.first {
			ps[p.index].Message = fmt.Sprintf(p.format, o.first)
			continue
		}
		drop[p.index] = true
	}
	if len(drop) > 0 {
		kept := ps[:0]
		for i, p := range ps {
			if !drop[i] {
				kept = append(kept, p)
			}
		}
		ps = kept
	}
	for id, o := range ids {
		// A second row checked before the switch already reported the
		// first row, exactly.
		if o.n >= 2 && o.secondOrd >= d.spillAt {
			sheetName := o.sheet
			if sheetName == "" {
				sheetName = v.sheet
			}
			ps = append(ps, sheet.Problem{Sheet: sheetName, Line: o.first, Column: v.col(sheet.ColClientTransferID), Value: id, Rule: "duplicate_id",
				Message: fmt.Sprintf(dupIDMessage, id, o.second)})
		}
	}
	d.pending, d.idCands, d.payeeCands = nil, map[string]struct{}{}, map[string]struct{}{}
	return ps, nil
}

// BoundDuplicates lets the validator keep its memory bounded: past
// exactDupKeys keys it moves to Bloom filters, and ResolveDuplicates must
// then be given a second read of the same rows to confirm the candidates.
// Only a caller that can read its rows again (ValidateFile) sets it.
func (v *Validator) BoundDuplicates() { v.dupes.bounded = true }

// SetDuplicateLimits sets how many keys are kept exactly and the size of
// each filter, and returns a function that restores the previous values:
// for tests that need the filters at a few rows. Not safe while a
// validator runs.
func SetDuplicateLimits(exactKeys, filterBytes int) (restore func()) {
	k, b := exactDupKeys, dupFilterBytes
	exactDupKeys, dupFilterBytes = exactKeys, filterBytes
	return func() { exactDupKeys, dupFilterBytes = k, b }
}
