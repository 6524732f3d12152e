package results

import (
	"sort"

	"github.com/shopspring/decimal"
)

// summaryActionListMax bounds the rows the Summary lists as needing action,
// so a million failed rows cannot blow up memory; the "Needs action" sheet
// (or the result column of the CSV) always has all of them.
const summaryActionListMax = 500

// summaryAction is one row of the Summary's list of rows needing action.
type summaryAction struct {
	SheetLine        int
	ClientTransferID string
	Payee            string
	Result           ResultKind
	Action           string
	KYCUploadLink    string
}

// summaryBuilder accumulates the Summary's figures while the rows stream by.
type summaryBuilder struct {
	runID       int64
	rows        int
	moved       int
	earlier     int
	later       int
	earlierRuns map[int64]bool
	laterRuns   map[int64]bool
	counts      map[ResultKind]int
	totals      map[string]*CurrencyTotal
	needsAction int
	actions     []summaryAction
}

func newSummaryBuilder(runID int64) *summaryBuilder {
	return &summaryBuilder{runID: runID, counts: make(map[ResultKind]int), totals: make(map[string]*CurrencyTotal),
		earlierRuns: map[int64]bool{}, laterRuns: map[int64]bool{}}
}

// add counts one row.
func (b *summaryBuilder) add(r *ResultRow) {
	b.rows++
	k := r.Result()
	b.counts[k]++
	cur := r.sourceCurrency()
	t := b.totals[cur]
	if t == nil {
		t = &CurrencyTotal{Currency: cur}
		b.totals[cur] = t
	}
	t.Rows++
	req, known := r.RequestedSource()
	switch {
	case !known:
		t.Unquoted++
	case k.Settled():
		t.Requested = t.Requested.Add(req)
		paid := req
		if r.SourceAmount.Valid {
			paid = r.SourceAmount.Decimal
		}
		switch by := r.SettledRunID; {
		case by != 0 && by < b.runID:
			t.PaidEarlier = t.PaidEarlier.Add(paid)
		case by > b.runID:
			t.PaidLater = t.PaidLater.Add(paid)
		default:
			t.Paid = t.Paid.Add(paid)
		}
	default:
		t.Requested = t.Requested.Add(req)
		t.NotPaid = t.NotPaid.Add(req)
	}
	if k.Settled() {
		switch by := r.SettledRunID; {
		case by != 0 && by < b.runID:
			b.earlier++
			b.earlierRuns[by] = true
		case by > b.runID:
			b.later++
			b.laterRuns[by] = true
		default:
			b.moved++
			if r.Fee.Valid {
				t.Fees = t.Fees.Add(r.Fee.Decimal)
			}
		}
	}
	if k.NeedsPerson() {
		b.needsAction++
		if len(b.actions) < summaryActionListMax {
			b.actions = append(b.actions, summaryAction{
				SheetLine:        r.SheetLine,
				ClientTransferID: r.ClientTransferID,
				Payee:            resPayee(r),
				Result:           k,
				Action:           r.Action(),
				KYCUploadLink:    r.KYCUploadLink,
			})
		}
	}
}

// summary returns the accumulated figures.
func (b *summaryBuilder) summary(runID int64) ResultsSummary {
	s := ResultsSummary{
		RunID:       runID,
		Rows:        b.rows,
		Counts:      make(map[ResultKind]int, len(ResultKinds)),
		NeedsAction: b.needsAction,
		Moved:       b.moved,
		Earlier:     b.earlier,
		Later:       b.later,
		EarlierRuns: SortedRuns(b.earlierRuns),
		LaterRuns:   SortedRuns(b.laterRuns),
	}
	for _, k := range ResultKinds {
		s.Counts[k] = b.counts[k]
	}
	for _, t := range b.totals {
		s.Totals = append(s.Totals, *t)
	}
	sort.Slice(s.Totals, func(i, j int) bool { return s.Totals[i].Currency < s.Totals[j].Currency })
	return s
}

// SortedRuns lists a set of run ids in order.
func SortedRuns(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// resPayee is "first last" from the sheet's name columns, or the email.
func resPayee(r *ResultRow) string {
	first, last := resInput(r, "first_name"), resInput(r, "last_name")
	switch {
	case first != "" && last != "":
		return first + " " + last
	case first != "" || last != "":
		return first + last
	}
	return resInput(r, "email")
}

// resInput is the value of the sheet column whose header matches name
// without regard to case, spaces or underscores, as ingest matches them.
func resInput(r *ResultRow, name string) string {
	want := resFoldHeader(name)
	for _, f := range r.Input {
		if resFoldHeader(f.Header) == want {
			return f.Value
		}
	}
	return ""
}

// resFoldHeader lowercases h and drops spaces, underscores and dashes.
func resFoldHeader(h string) string {
	out := make([]byte, 0, len(h))
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == ' ' || c == '_' || c == '-' || c == '\t':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return string(out)
}

// summaryBalance is one line of the Summary's balance table.
type summaryBalance struct {
	Currency      string
	Before, After decimal.NullDecimal
}

// balanceTable joins the before and after balances by currency.
func balanceTable(run ResultsRun) []summaryBalance {
	idx := map[string]int{}
	var out []summaryBalance
	get := func(cur string) *summaryBalance {
		if i, ok := idx[cur]; ok {
			return &out[i]
		}
		idx[cur] = len(out)
		out = append(out, summaryBalance{Currency: cur})
		return &out[len(out)-1]
	}
	for _, b := range run.BalancesBefore {
		get(b.Currency).Before = decimal.NewNullDecimal(b.Amount)
	}
	for _, b := range run.BalancesAfter {
		get(b.Currency).After = decimal.NewNullDecimal(b.Amount)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out
}
