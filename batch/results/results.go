package results

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/plural"
)

// ResultKind is the one-word outcome of a row as finance reads it in the
// results workbook. It is derived from the ledger state, never stored.
type ResultKind string

// The result kinds, in the order the Summary counts them.
const (
	ResultPaid        ResultKind = "PAID"
	ResultLoaded      ResultKind = "LOADED"
	ResultScheduled   ResultKind = "SCHEDULED"
	ResultNeedsAction ResultKind = "NEEDS_ACTION"
	ResultFailed      ResultKind = "FAILED"
	ResultInvalid     ResultKind = "INVALID"
	ResultConflict    ResultKind = "CONFLICT"
	ResultPending     ResultKind = "PENDING"
)

// ResultKinds lists every result kind in display order.
var ResultKinds = []ResultKind{
	ResultPaid, ResultLoaded, ResultScheduled, ResultNeedsAction,
	ResultFailed, ResultInvalid, ResultConflict, ResultPending,
}

// ResultOf maps a ledger row state to its result kind. Every state that is not
// final (new, user_ready, load_sent, route_ready, initiating, initiated,
// committing, or one this code does not know) is PENDING: its outcome is
// still being confirmed and a re-run settles it.
func ResultOf(state string) ResultKind {
	switch k := ResultKind(state); k {
	case ResultPaid, ResultLoaded, ResultScheduled, ResultNeedsAction,
		ResultFailed, ResultInvalid, ResultConflict:
		return k
	}
	return ResultPending
}

// Settled reports whether the money of a row with this result has left the
// account: paid out, loaded into the payee's wallet, or scheduled to load.
func (k ResultKind) Settled() bool {
	return k == ResultPaid || k == ResultLoaded || k == ResultScheduled
}

// NeedsPerson reports whether a row with this result waits on a person: every
// result that is not settled.
func (k ResultKind) NeedsPerson() bool { return !k.Settled() }

// ResultRow is one payment as the results workbook shows it. It is filled
// from the ledger; nothing in it comes from the runner's memory.
type ResultRow struct {
	SheetLine        int
	ClientTransferID string
	// Input holds every column of the sheet, in sheet order, unknown ones too.
	Input               []sheet.InputField
	Method              string // load or payout
	Amount              decimal.Decimal
	AmountIs            string // source or destination
	SourceCurrency      string
	DestinationCurrency string

	State         string // the ledger state; Result derives from it
	ActionNeeded  string // set by the runner when it knows the next step
	KYCUploadLink string
	// KYCNotice says where and when the upload link was emailed ("link
	// emailed to payee at ..."), "" when it was not.
	KYCNotice     string
	MassPayStatus string
	// StatusChangedAt is when MassPay's status last changed, as reconcile or
	// a webhook learned it; zero until then.
	StatusChangedAt time.Time
	PayoutToken     string
	LoadToken       string

	Fee               decimal.NullDecimal // in the source currency
	ExchangeRate      decimal.NullDecimal
	SourceAmount      decimal.NullDecimal
	DestinationAmount decimal.NullDecimal

	PickupCode            string
	PayerName             string
	DeliveryType          string
	EstimatedAvailability string // as MassPay sent it; shown as a date when it parses
	LastError             string
	Attempts              int
	UpdatedAt             time.Time
	// SettledRunID is the run that paid or loaded the row, when the
	// source knows it (0: not settled, or unknown, which counts as this
	// run): a re-run must not claim what an earlier run paid.
	SettledRunID int64
}

// Result is the row's result kind.
func (r *ResultRow) Result() ResultKind { return ResultOf(r.State) }

// Action is the plain-English next step for the row: the one the runner
// stored when it set one, otherwise the generic step for the row's result.
// Settled rows need nothing and get "".
func (r *ResultRow) Action() string {
	if r.ActionNeeded != "" {
		return r.ActionNeeded
	}
	switch r.Result() {
	case ResultPending:
		return ActionPending
	case ResultNeedsAction:
		if r.KYCUploadLink != "" {
			return ActionKYC
		}
		return ActionFixAndRerun
	case ResultFailed:
		return ActionFailed
	case ResultInvalid:
		return ActionInvalid
	case ResultConflict:
		return ActionConflict
	}
	return ""
}

// RequestedSource is what the row asked to send in its source currency: the
// sheet amount when it is a source amount, otherwise the quoted source amount
// once MassPay gave one. ok is false when no source amount is known yet.
func (r *ResultRow) RequestedSource() (amount decimal.Decimal, ok bool) {
	if !strings.EqualFold(r.AmountIs, "destination") {
		return r.Amount, true
	}
	if r.SourceAmount.Valid {
		return r.SourceAmount.Decimal, true
	}
	return decimal.Decimal{}, false
}

// sourceCurrency is the row's source currency, USD when the sheet left it out.
func (r *ResultRow) sourceCurrency() string {
	if r.SourceCurrency == "" {
		return "USD"
	}
	return strings.ToUpper(r.SourceCurrency)
}

// CurrencyAmount is an amount of one currency, such as an account balance.
type CurrencyAmount struct {
	Currency string
	Amount   decimal.Decimal
}

// ResultsRun describes the run a results workbook reports on.
type ResultsRun struct {
	ID          int64
	SheetName   string // the sheet's path as the run was given it
	SheetSHA256 string
	StartedAt   time.Time
	FinishedAt  time.Time // zero while running or when the run was cut off
	Status      string    // finished, aborted, or not finished
	Operator    string
	Environment string // production, staging, sandbox
	// BalancesBefore and BalancesAfter are the MassPay account balances per
	// currency; either may be empty when the run did not get that far.
	BalancesBefore []CurrencyAmount
	BalancesAfter  []CurrencyAmount
}

// ConflictField is one value a conflicting sheet row wants to change.
type ConflictField struct {
	Field  string
	Sheet  string // the value in this run's sheet, never paid
	Ledger string // the value the ledger holds for the client_transfer_id
}

// ConflictRow is a sheet row whose client_transfer_id the ledger already
// holds with different content. It is reported and never paid.
type ConflictRow struct {
	SheetLine        int
	ClientTransferID string
	FirstRunID       int64 // the run that first recorded the ledger's values
	Fields           []ConflictField
}

// Flip is a payment whose MassPay status changed after payrun recorded it as
// settled (for example COMPLETED, then CANCELLED). payrun reconcile finds
// them; the results workbook lists them on a "Flips" sheet when there are any.
type Flip struct {
	ClientTransferID string
	Token            string // the payout or load token
	Was              string // the status payrun recorded
	Now              string // the status MassPay reports now
	SourceAmount     decimal.NullDecimal
	SourceCurrency   string
	DetectedAt       time.Time
	ActionNeeded     string
}

// ResultsSource is where WriteResults reads a run from. The ledger is the
// production source; rows are streamed in sheet order so a run of a million
// rows is never held in memory.
type ResultsSource interface {
	// ResultsRun returns the run's description.
	ResultsRun(ctx context.Context) (ResultsRun, error)
	// ResultRows calls fn for every row of the run in sheet order; it stops and
	// returns fn's error if fn fails. The row is only valid during the call.
	ResultRows(ctx context.Context, fn func(*ResultRow) error) error
	// ResultConflicts calls fn for every conflict recorded for the run.
	ResultConflicts(ctx context.Context, fn func(*ConflictRow) error) error
}

// ParseResultsFormat parses the results format "xlsx" or "csv" (any case;
// "" means xlsx).
func ParseResultsFormat(s string) (ingest.Format, error) {
	switch strings.ToLower(strings.TrimPrefix(s, ".")) {
	case "", "xlsx":
		return ingest.FormatXLSX, nil
	case "csv":
		return ingest.FormatCSV, nil
	}
	return "", fmt.Errorf("parse results format %q: %w", s, ErrResultsFormat)
}

// ctxCheckCells is how many cells the results writers write between two
// looks at their context: about 4,000 rows of a 15-column sheet, and a few
// rows of a very wide one.
const ctxCheckCells = 1 << 16

// ResultsOptions tunes WriteResults.
type ResultsOptions struct {
	// Format is xlsx (the default) or csv. CSV writes the results to the path
	// and the summary to SummaryCSVPath(path).
	Format ingest.Format
	// Flips, when not empty, are listed on a "Flips" sheet (or flips.csv).
	Flips []Flip
	// Now stamps the workbook's "generated" time; zero means time.Now.
	Now time.Time
	// Warnings are the sheet's warnings, one per kind, listed on the
	// Summary when the run has just checked the sheet (payrun report,
	// which reads only the ledger, has none to list).
	Warnings []sheet.WarningSummary
	// Mode is the files' permissions; zero means DefaultFileMode (0600,
	// like the ledger: the results hold payees' names, bank details and
	// KYC links). The umask does not apply to an explicit mode.
	Mode os.FileMode
}

// ResultsSummary is what WriteResults wrote: where, and the figures of the
// Summary sheet, so a caller can print them without reopening the file.
type ResultsSummary struct {
	RunID       int64
	Path        string // the results workbook or results CSV
	SummaryPath string // the summary CSV; "" for xlsx, where it is a sheet
	FlipsPath   string // the flips CSV; "" for xlsx or when there are none
	Rows        int
	Counts      map[ResultKind]int
	Totals      []CurrencyTotal // by source currency, sorted by currency
	NeedsAction int             // rows that wait on a person
	Conflicts   int             // conflicts recorded for the run
	// Moved counts the rows this run itself paid, loaded or scheduled;
	// Earlier the rows of its sheet another run settled before it, and
	// EarlierRuns those runs; Later and LaterRuns the same for runs after
	// it (a cut-off run finished by the next).
	Moved, Earlier, Later  int
	EarlierRuns, LaterRuns []int64
}

// NothingToPay reports a run whose sheet was settled in full before it
// started: it moved nothing, and nothing in it waits on a person.
func (s ResultsSummary) NothingToPay() bool {
	return s.Moved == 0 && s.Later == 0 && s.NeedsAction == 0 && s.Earlier > 0
}

// EarlierText is "already paid earlier: 200 rows, 206039.63 USD, in run 1",
// or "" when no row of the run was settled by an earlier run.
func (s ResultsSummary) EarlierText() string {
	return SettledText("already paid earlier", s.Earlier, s.Totals, func(t CurrencyTotal) decimal.Decimal { return t.PaidEarlier }, s.EarlierRuns)
}

// LaterText is "paid by a later run: ..." for rows of this run that a later
// run settled, or "".
func (s ResultsSummary) LaterText() string {
	return SettledText("paid by a later run", s.Later, s.Totals, func(t CurrencyTotal) decimal.Decimal { return t.PaidLater }, s.LaterRuns)
}

// SettledText says how many rows, for how much per currency and in which
// runs, were settled as what says; "" when rows is 0.
func SettledText(what string, rows int, totals []CurrencyTotal, amt func(CurrencyTotal) decimal.Decimal, runs []int64) string {
	if rows == 0 {
		return ""
	}
	parts := []string{what + ": " + plural.Count(rows, "row")}
	for _, t := range totals {
		if a := amt(t); !a.IsZero() {
			// Grouped, as every other total of run, status, plan
			// and the console.
			parts = append(parts, sheet.FormatAmount(a, t.Currency)+" "+t.Currency)
		}
	}
	ids := make([]string, len(runs))
	for i, id := range runs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	word := "run "
	if len(runs) > 1 {
		word = "runs "
	}
	return strings.Join(parts, ", ") + ", in " + word + strings.Join(ids, ", ")
}

// CurrencyTotal sums a run's rows of one source currency.
type CurrencyTotal struct {
	Currency string
	Rows     int
	// Requested is what the rows asked to send, in the source currency.
	Requested decimal.Decimal
	// Paid is what rows this run settled sent (the quoted source amount
	// when MassPay gave one, otherwise the requested amount). Rows another
	// run settled are in PaidEarlier or PaidLater instead, so adding up the
	// Paid of every run counts each payment once.
	Paid decimal.Decimal
	// Fees are the fees of the rows this run settled.
	Fees decimal.Decimal
	// PaidEarlier is what rows settled by an earlier run sent; PaidLater
	// what rows settled by a later run sent.
	PaidEarlier, PaidLater decimal.Decimal
	// NotPaid is what rows that did not settle asked to send.
	NotPaid decimal.Decimal
	// Unquoted counts rows whose amount is a destination amount that never
	// got a quote, so no source amount is known: they are in no sum above.
	Unquoted int
}

// Errors returned by the results writer.
var (
	ErrResultsFormat     = errors.New("unknown results format (want xlsx or csv)")
	ErrOverwriteSheet    = errors.New("results path is the input sheet")
	ErrResultsPathNeeded = errors.New("results path is empty")
)

// WriteResultsFrom writes the results of the run src describes to path, in
// the format opts asks for. The file appears under its final name only once
// complete: a crash leaves the previous file, or none, never half of one.
func WriteResultsFrom(ctx context.Context, src ResultsSource, path string, opts ResultsOptions) (ResultsSummary, error) {
	// A signal before the first row stops it too: results are rewritten
	// from the ledger at any time (payrun report).
	if err := ctx.Err(); err != nil {
		return ResultsSummary{}, fmt.Errorf("write results: %w", err)
	}
	if path == "" {
		return ResultsSummary{}, ErrResultsPathNeeded
	}
	format := opts.Format
	if format == "" {
		format = ingest.FormatXLSX
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	run, err := src.ResultsRun(ctx)
	if err != nil {
		return ResultsSummary{}, fmt.Errorf("read run: %w", err)
	}
	if run.SheetName != "" && samePath(path, run.SheetName) {
		return ResultsSummary{}, fmt.Errorf("write results %s: %w", path, ErrOverwriteSheet)
	}
	var sum ResultsSummary
	switch format {
	case ingest.FormatXLSX:
		sum, err = writeResultsXLSX(ctx, src, run, path, opts)
	case ingest.FormatCSV:
		if samePath(SummaryCSVPath(path), run.SheetName) || samePath(FlipsCSVPath(path), run.SheetName) {
			return ResultsSummary{}, fmt.Errorf("write results %s: %w", path, ErrOverwriteSheet)
		}
		sum, err = writeResultsCSV(ctx, src, run, path, opts)
	default:
		return ResultsSummary{}, fmt.Errorf("write results: %w", ErrResultsFormat)
	}
	if err != nil {
		return ResultsSummary{}, err
	}
	return sum, nil
}
