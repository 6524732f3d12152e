package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// digestFull is the most rows a run digest shows in full (name, amount,
// reason, link each on its own lines); above it, one line per row.
const digestFull = 10

// RunInfo is what the end of a run tells the run digest.
type RunInfo struct {
	RunID   int64
	Sheet   string
	Env     string
	Results string // the results file's path, where finance finds it
	Totals  []results.CurrencyTotal
}

// RunEnded sends the run's digest when rows need a person or failed: one
// message listing them all, with the run's counts, totals, results path
// and top reasons. Its key is the set of those rows and their reasons, so a
// re-run that changes nothing sends nothing.
func (n *Notifier) RunEnded(ctx context.Context, info RunInfo) Result {
	if n == nil {
		return Result{}
	}
	msg, ok, err := RunDigest(ctx, n.Ledger, info)
	if err != nil {
		n.Log.Error().Err(err).Msg("build run alert")
		return Result{Failed: 1, Errs: []string{err.Error()}}
	}
	if !ok {
		return Result{}
	}
	return n.Send(ctx, msg)
}

// RunDigest builds the digest of run info.RunID; ok is false when no row of
// the run needs a person.
func RunDigest(ctx context.Context, l *ledger.Ledger, info RunInfo) (Message, bool, error) {
	var rows []ledger.Row
	for r, err := range l.Rows(ctx, ledger.RowFilter{RunID: info.RunID, States: []ledger.State{ledger.StateNeedsAction, ledger.StateFailed}}) {
		if err != nil {
			return Message{}, false, fmt.Errorf("read rows needing a person: %w", err)
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return Message{}, false, nil
	}
	counts, err := l.Counts(ctx, info.RunID)
	if err != nil {
		return Message{}, false, fmt.Errorf("read run counts: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Line < rows[j].Line })
	h := sha256.New()
	reasons := map[string]int{}
	for _, r := range rows {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", r.ID, r.State, reason(r))
		reasons[reason(r)]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Run %d of %s", info.RunID, info.Sheet)
	if info.Env != "" {
		fmt.Fprintf(&b, " (%s)", info.Env)
	}
	fmt.Fprintf(&b, " ended with %s needing a person.\n\n", plural.Count(len(rows), "row"))
	fmt.Fprintf(&b, "Rows: %s\n", stateLine(counts))
	for _, t := range info.Totals {
		fmt.Fprintf(&b, "%s: paid %s, fees %s, not paid %s (of %s requested over %s)\n", t.Currency,
			money(t.Paid, t.Currency), money(t.Fees, t.Currency), money(t.NotPaid, t.Currency), money(t.Requested, t.Currency), plural.Count(t.Rows, "row"))
	}
	if info.Results != "" {
		fmt.Fprintf(&b, "Results: %s (sheet \"Needs action\")\n", info.Results)
	}
	b.WriteString("\nTop reasons:\n")
	for _, r := range topReasons(reasons, 5) {
		fmt.Fprintf(&b, "  %d x %s\n", reasons[r], r)
	}
	b.WriteString("\nRows needing a person:\n")
	for _, r := range rows {
		if len(rows) <= digestFull {
			fmt.Fprintf(&b, "- line %d, %s (%s %s), %s %s: %s\n  %s\n", r.Line, r.ID, column(r, "firstname"), column(r, "lastname"),
				money(r.Amount, r.SourceCurrency), r.SourceCurrency, r.State, reason(r))
			if r.KYCUploadLink != "" {
				fmt.Fprintf(&b, "  upload link: %s\n", r.KYCUploadLink)
			}
		} else {
			fmt.Fprintf(&b, "- %d %s %s %s %s: %s\n", r.Line, r.ID, money(r.Amount, r.SourceCurrency), r.SourceCurrency, r.State, reason(r))
		}
	}
	fields := []Field{{"run", fmt.Sprint(info.RunID)}, {"sheet", info.Sheet}, {"rows_needing_a_person", fmt.Sprint(len(rows))},
		{"counts", stateLine(counts)}, {"results", info.Results}}
	return Message{
		Key:     "run:" + hex.EncodeToString(h.Sum(nil))[:32],
		Kind:    KindRun,
		Subject: fmt.Sprintf("payrun: run %d: %s %s a person", info.RunID, plural.Count(len(rows), "row"), plural.Verb(len(rows), "needs", "need")),
		Text:    b.String(),
		Fields:  fields,
	}, true, nil
}

// AbortInfo is what a run that stopped before its end tells its alert.
type AbortInfo struct {
	RunID  int64
	Sheet  string
	Env    string
	Reason string // the error that stopped it, as a person reads it (never a secret)
}

// RunAborted sends one alert for a run that stopped before its end (exit 3)
// with nobody watching (cron, the inbox): what stopped it, where its rows
// stand, and that running it again pays nobody twice. Its key is the run,
// so a second process reading the same ledger does not send it again.
func (n *Notifier) RunAborted(ctx context.Context, info AbortInfo) Result {
	if n == nil {
		return Result{}
	}
	counts, err := n.Ledger.Counts(ctx, info.RunID)
	if err != nil {
		n.Log.Error().Err(err).Msg("build aborted-run alert")
		counts = nil
	}
	return n.Send(ctx, AbortMessage(info, counts))
}

// AbortMessage is the alert of a run that stopped before its end.
func AbortMessage(info AbortInfo, counts map[ledger.State]int) Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %d of %s", info.RunID, info.Sheet)
	if info.Env != "" {
		fmt.Fprintf(&b, " (%s)", info.Env)
	}
	fmt.Fprintf(&b, " stopped before its end: %s\n\n", info.Reason)
	if len(counts) > 0 {
		fmt.Fprintf(&b, "Rows so far: %s\n", stateLine(counts))
	}
	b.WriteString("Rows paid or loaded stay paid; rows in flight are settled with MassPay on the next run.\n" +
		"Fix the cause, then run the same command again: nobody is paid twice.\n")
	return Message{
		Key:     fmt.Sprintf("aborted:run:%d", info.RunID),
		Kind:    KindAborted,
		Subject: fmt.Sprintf("payrun: run %d stopped before its end", info.RunID),
		Text:    b.String(),
		Fields:  []Field{{"run", fmt.Sprint(info.RunID)}, {"sheet", info.Sheet}, {"reason", info.Reason}, {"counts", stateLine(counts)}},
	}
}

// FundsInfo is a source currency a run stopped because MassPay answered
// insufficient funds.
type FundsInfo struct {
	RunID    int64
	Sheet    string
	Currency string
	Balance  string // the balance after the run, "" when unknown
}

// FundsShort sends one alert per run and currency that MassPay stopped for
// want of funds.
func (n *Notifier) FundsShort(ctx context.Context, info FundsInfo) Result {
	if n == nil {
		return Result{}
	}
	return n.Send(ctx, FundsMessage(info))
}

// FundsMessage is the alert of a currency a run stopped for want of funds.
func FundsMessage(info FundsInfo) Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %d of %s: MassPay answered insufficient funds in %s.\n", info.RunID, info.Sheet, info.Currency)
	if info.Balance != "" {
		fmt.Fprintf(&b, "%s balance after the run: %s.\n", info.Currency, info.Balance)
	}
	fmt.Fprintf(&b, "Rows in %s that had not started were left NEEDS_ACTION (\"add funds\"); nothing was half paid.\n"+
		"Fund the %s balance, then run the same sheet again: only those rows are paid.\n", info.Currency, info.Currency)
	return Message{
		Key:     fmt.Sprintf("funds:run:%d:%s", info.RunID, info.Currency),
		Kind:    KindFunds,
		Subject: fmt.Sprintf("payrun: run %d stopped paying in %s: insufficient funds", info.RunID, info.Currency),
		Text:    b.String(),
		Fields:  []Field{{"run", fmt.Sprint(info.RunID)}, {"sheet", info.Sheet}, {"currency", info.Currency}, {"balance", info.Balance}},
	}
}

// ApprovalInfo is a recorded plan that waits for an approver.
type ApprovalInfo struct {
	PlanID     int64
	Sheet      string
	PreparedBy string
	Rows       int
	Totals     string // "208143.34 USD, 31633.14 EUR"
	Command    string // what an approver runs
}

// ApprovalWaiting sends one alert per recorded plan under require_approval,
// so the approvers learn a sheet waits for them.
func (n *Notifier) ApprovalWaiting(ctx context.Context, info ApprovalInfo) Result {
	if n == nil {
		return Result{}
	}
	return n.Send(ctx, ApprovalMessage(info))
}

// ApprovalMessage is the alert of a plan that waits for an approver.
func ApprovalMessage(info ApprovalInfo) Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Plan %d of %s, prepared by %s, waits for approval: %s", info.PlanID, info.Sheet, info.PreparedBy, plural.Count(info.Rows, "row"))
	if info.Totals != "" {
		fmt.Fprintf(&b, ", %s", info.Totals)
	}
	b.WriteString(".\nNothing is paid until someone other than the preparer approves it")
	if info.Command != "" {
		fmt.Fprintf(&b, ": %s (or in the console)", info.Command)
	}
	b.WriteString(".\n")
	return Message{
		Key:     fmt.Sprintf("approval:plan:%d", info.PlanID),
		Kind:    KindApproval,
		Subject: fmt.Sprintf("payrun: plan %d of %s waits for approval", info.PlanID, info.Sheet),
		Text:    b.String(),
		Fields: []Field{{"plan", fmt.Sprint(info.PlanID)}, {"sheet", info.Sheet}, {"prepared_by", info.PreparedBy},
			{"rows", fmt.Sprint(info.Rows)}, {"totals", info.Totals}},
	}
}

// Flip sends one alert for a flip the webhook receiver or reconcile found.
func (n *Notifier) Flip(ctx context.Context, f results.Flip) Result {
	if n == nil {
		return Result{}
	}
	return n.Send(ctx, FlipMessage(f))
}

// FlipMessage is the alert of one flip. The ledger records a flip once (by
// row, statuses and time), so its detection time makes the key.
func FlipMessage(f results.Flip) Message {
	amt := ""
	if f.SourceAmount.Valid {
		amt = money(f.SourceAmount.Decimal, f.SourceCurrency) + " " + f.SourceCurrency
	}
	text := fmt.Sprintf("MassPay changed a settled payment: %s (%s, %s) went %s -> %s at %s.\n%s\n",
		f.ClientTransferID, f.Token, amt, f.Was, f.Now, f.DetectedAt.UTC().Format("2006-01-02 15:04:05 UTC"), f.ActionNeeded)
	return Message{
		Key:              fmt.Sprintf("flip:%s:%s>%s@%s", f.ClientTransferID, f.Was, f.Now, f.DetectedAt.UTC().Format("2006-01-02T15:04:05.999999999Z")),
		Kind:             KindFlip,
		ClientTransferID: f.ClientTransferID,
		Subject:          fmt.Sprintf("payrun: FLIP %s %s -> %s", f.ClientTransferID, f.Was, f.Now),
		Text:             text,
		Fields: []Field{{"client_transfer_id", f.ClientTransferID}, {"token", f.Token}, {"was", f.Was}, {"now", f.Now},
			{"amount", amt}, {"action", f.ActionNeeded}},
	}
}

// Reconciled sends the alerts of a reconcile: one per flip it found and one
// per currency whose balance differs from the ledger's expectation.
func (n *Notifier) Reconciled(ctx context.Context, rep reconcile.ReconcileReport) Result {
	var res Result
	if n == nil {
		return res
	}
	for _, f := range rep.Flips {
		res.add(n.Flip(ctx, f))
	}
	for _, b := range rep.Balances {
		if !b.Difference.IsZero() {
			res.add(n.Send(ctx, BalanceMessage(b)))
		}
	}
	return res
}

// BalanceMessage is the alert of a balance difference; the same difference
// found by the next reconcile is not sent again.
func BalanceMessage(b reconcile.BalanceCheck) Message {
	c := b.Currency
	text := fmt.Sprintf("MassPay's %s balance is %s; the ledger expects %s (opening %s at run %d, debited %s, refunded %s): difference %s.\n",
		c, money(b.Actual, c), money(b.Expected, c), money(b.Opening, c), b.OpeningRunID, money(b.Debited, c), money(b.Refunded, c), money(b.Difference, c))
	for _, s := range b.Explain {
		text += fmt.Sprintf("  could explain it: %s (%s, MassPay %s) %s: %s\n", s.ClientTransferID, s.State, s.MasspayStatus, money(s.Effect, c), s.Why)
	}
	return Message{
		Key:     fmt.Sprintf("balance:%s:%s:%s", c, money(b.Expected, c), money(b.Actual, c)),
		Kind:    KindBalance,
		Subject: fmt.Sprintf("payrun: %s balance differs from the ledger by %s", c, money(b.Difference, c)),
		Text:    text,
		Fields: []Field{{"currency", c}, {"expected", money(b.Expected, c)}, {"actual", money(b.Actual, c)},
			{"difference", money(b.Difference, c)}},
	}
}

// money shows d with cur's minor units (USD 2, JPY 0), as the results do.
func money(d decimal.Decimal, cur string) string {
	if c, ok := sheet.LookupCurrency(cur); ok {
		return d.StringFixed(c.Decimals)
	}
	return d.String()
}

// reason is why a row needs a person, as the results show it.
func reason(r ledger.Row) string {
	switch {
	case r.ActionNeeded != "":
		return r.ActionNeeded
	case r.LastError != "":
		return r.LastError
	case r.InternalError != "":
		return r.InternalError
	}
	return string(r.State)
}

func topReasons(m map[string]int, n int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func stateLine(counts map[ledger.State]int) string {
	var parts []string
	for s, n := range counts {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// column returns the row's sheet cell under header name, matched like the
// sheet's headers: without regard to case, spaces or underscores.
func column(r ledger.Row, name string) string {
	for _, c := range r.Input {
		if normHeader(c.Header) == name {
			return strings.TrimSpace(c.Value)
		}
	}
	return ""
}

func normHeader(h string) string {
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(strings.ToLower(strings.TrimSpace(h)))
}
