package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/internal/plural"
)

// Plans are the maker-checker record: one person prepares a sheet (payrun
// plan, or an upload in the web console) and the ledger records a Plan naming
// the sheet by the SHA-256 of its bytes, with its row count and totals; a
// different person approves or rejects it. With approval required, a run pays
// only a sheet whose hash matches an approved plan, so a sheet edited after
// its approval is refused. Every step is also an event in the audit trail,
// and the database refuses to change a decided plan or delete any plan.

// Event kinds of plans. EventApproval is declared with the other kinds.
const (
	EventPlan      EventKind = "plan"      // a plan was prepared
	EventRejection EventKind = "rejection" // a plan was rejected
)

// Errors of plans.
var (
	// ErrSelfApproval means the approver is the person who prepared the plan
	// and self-approval is not allowed.
	ErrSelfApproval = errors.New("the preparer of a plan may not approve it")
	// ErrPlanDecided means the plan was already approved or rejected; a
	// decision is final.
	ErrPlanDecided = errors.New("plan already decided")
)

// PlanStatus is where a plan stands. Pending is the only status that changes.
type PlanStatus string

// Plan statuses.
const (
	PlanPending  PlanStatus = "pending"
	PlanApproved PlanStatus = "approved"
	PlanRejected PlanStatus = "rejected"
)

// PlanInfo describes a plan about to be recorded.
type PlanInfo struct {
	SheetName   string // the sheet's file name as given
	SheetSHA256 string // hex SHA-256 of the sheet file (64 characters)
	Rows        int    // rows the plan would pay
	// Totals is the amount leaving the account per source currency.
	Totals      map[string]decimal.Decimal
	Environment string // "sandbox", "production", ...; "" if not known
	// PreparedBy names the person who prepared the plan (a console user, or
	// the OS user); it is what ApprovePlan compares the approver against.
	PreparedBy string
	// Note is extra context recorded in the plan's event only, e.g. the OS
	// user and host behind PreparedBy. It must not hold a secret.
	Note string
	// PreparedAt defaults to the ledger's clock.
	PreparedAt time.Time
}

// Plan is a recorded plan and its decision.
type Plan struct {
	ID          int64
	SheetName   string
	SheetSHA256 string
	Rows        int
	Totals      map[string]decimal.Decimal
	Environment string
	PreparedBy  string
	PreparedAt  time.Time
	Status      PlanStatus
	DecidedBy   string    // who approved or rejected it; "" while pending
	DecidedAt   time.Time // zero while pending
	Reason      string    // why it was rejected (or a note on the approval)
}

const planCols = `id, sheet_name, sheet_sha256, row_count, totals, environment, prepared_by,
	prepared_at, status, decided_by, decided_at, reason`

// RecordPlan records a pending plan and its EventPlan event in one
// transaction and returns it with its new ID.
func (l *Ledger) RecordPlan(ctx context.Context, info PlanInfo) (Plan, error) {
	info.PreparedBy = strings.TrimSpace(info.PreparedBy)
	if info.PreparedBy == "" {
		return Plan{}, fmt.Errorf("record plan: empty preparer")
	}
	if !isHexSHA256(info.SheetSHA256) {
		return Plan{}, fmt.Errorf("record plan: sheet hash %q is not a hex SHA-256", info.SheetSHA256)
	}
	if info.Rows < 0 {
		return Plan{}, fmt.Errorf("record plan: negative row count %d", info.Rows)
	}
	if info.PreparedAt.IsZero() {
		info.PreparedAt = l.now()
	}
	totals, err := marshalBalances(Balances(info.Totals))
	if err != nil {
		return Plan{}, fmt.Errorf("record plan: %w", err)
	}
	if totals == nil {
		totals = "{}"
	}
	var p Plan
	err = l.write(ctx, false, func(tx *wtx) error {
		var err error
		p, err = scanPlan(tx.queryRow(`INSERT INTO plans
			(sheet_name, sheet_sha256, row_count, totals, environment, prepared_by, prepared_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING `+planCols,
			info.SheetName, strings.ToLower(info.SheetSHA256), info.Rows, totals, info.Environment,
			info.PreparedBy, formatTime(info.PreparedAt)))
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("plan %d prepared by %s: %s (%s, %s)", p.ID, p.PreparedBy, p.SheetName, plural.Count(p.Rows, "row"), FormatTotals(p.Totals))
		return insertEvent(tx, Event{Kind: EventPlan, At: info.PreparedAt, Message: msg,
			Data: planEventData(p, "prepare", p.PreparedBy, info.Note)}, formatTime(info.PreparedAt))
	})
	if err != nil {
		return Plan{}, fmt.Errorf("record plan: %w", err)
	}
	return p, nil
}

// ApprovePlan approves pending plan id on behalf of approver and records an
// EventApproval, in one transaction. It fails with ErrSelfApproval when
// approver names the plan's preparer (compared without regard to case or
// surrounding space) unless allowSelf, with ErrPlanDecided when the plan was
// already approved or rejected, and with ErrNotFound for an unknown id.
func (l *Ledger) ApprovePlan(ctx context.Context, id int64, approver string, allowSelf bool) (Plan, error) {
	return l.decidePlan(ctx, id, approver, PlanApproved, "", allowSelf)
}

// RejectPlan rejects pending plan id on behalf of by, with reason, and
// records an EventRejection. Anyone, the preparer included, may reject: a
// rejection pays nothing. It fails with ErrPlanDecided or ErrNotFound like
// ApprovePlan.
func (l *Ledger) RejectPlan(ctx context.Context, id int64, by, reason string) (Plan, error) {
	return l.decidePlan(ctx, id, by, PlanRejected, reason, true)
}

func (l *Ledger) decidePlan(ctx context.Context, id int64, by string, to PlanStatus, reason string, allowSelf bool) (Plan, error) {
	verb := map[PlanStatus]string{PlanApproved: "approve", PlanRejected: "reject"}[to]
	by = strings.TrimSpace(by)
	if by == "" {
		return Plan{}, fmt.Errorf("%s plan %d: empty name of who decides", verb, id)
	}
	now := l.now()
	var p Plan
	err := l.write(ctx, false, func(tx *wtx) error {
		cur, err := scanPlan(tx.queryRow(`SELECT `+planCols+` FROM plans WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "read plan")
		}
		if cur.Status != PlanPending {
			return fmt.Errorf("%w: %s by %s at %s", ErrPlanDecided, cur.Status, cur.DecidedBy, cur.DecidedAt.Format(time.RFC3339))
		}
		if !allowSelf && strings.EqualFold(by, cur.PreparedBy) {
			return fmt.Errorf("%w: %s prepared plan %d", ErrSelfApproval, cur.PreparedBy, id)
		}
		p, err = scanPlan(tx.queryRow(`UPDATE plans SET status = ?, decided_by = ?, decided_at = ?, reason = ?
			WHERE id = ? AND status = 'pending' RETURNING `+planCols, string(to), by, formatTime(now), reason, id))
		if err != nil {
			return err
		}
		kind, msg := EventApproval, fmt.Sprintf("plan %d approved by %s: %s (%s, %s; prepared by %s)",
			p.ID, by, p.SheetName, plural.Count(p.Rows, "row"), FormatTotals(p.Totals), p.PreparedBy)
		if to == PlanRejected {
			kind, msg = EventRejection, fmt.Sprintf("plan %d rejected by %s: %s", p.ID, by, p.SheetName)
			if reason != "" {
				msg += ": " + reason
			}
		}
		return insertEvent(tx, Event{Kind: kind, At: now, Message: msg, Data: planEventData(p, verb, by, reason)}, formatTime(now))
	})
	if err != nil {
		return Plan{}, fmt.Errorf("%s plan %d: %w", verb, id, err)
	}
	return p, nil
}

// Plan returns plan id, or ErrNotFound.
func (l *Ledger) Plan(ctx context.Context, id int64) (Plan, error) {
	p, err := scanPlan(l.rqRow(ctx, `SELECT `+planCols+` FROM plans WHERE id = ?`, id))
	if err != nil {
		return Plan{}, notFound(err, fmt.Sprintf("read plan %d", id))
	}
	return p, nil
}

// ApprovedPlanFor returns the newest approved plan of the sheet whose hex
// SHA-256 is sha256, or ErrNotFound when no plan of exactly those bytes was
// approved. Use Plans to explain a refusal (pending, rejected, or a plan of
// an earlier version of the sheet).
func (l *Ledger) ApprovedPlanFor(ctx context.Context, sha256 string) (Plan, error) {
	p, err := scanPlan(l.rqRow(ctx, `SELECT `+planCols+` FROM plans
		WHERE sheet_sha256 = ? AND status = 'approved' ORDER BY id DESC LIMIT 1`, strings.ToLower(sha256)))
	if err != nil {
		return Plan{}, notFound(err, "find approved plan")
	}
	return p, nil
}

// PlanFilter selects plans for Plans. Zero fields do not filter.
type PlanFilter struct {
	SheetSHA256 string
	SheetName   string // exact name as recorded
	Status      PlanStatus
	Limit       int // newest first; 0 means 100
}

// Plans returns the plans matching f, newest first.
func (l *Ledger) Plans(ctx context.Context, f PlanFilter) ([]Plan, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.SheetSHA256 != "" {
		where, args = append(where, "sheet_sha256 = ?"), append(args, strings.ToLower(f.SheetSHA256))
	}
	if f.SheetName != "" {
		where, args = append(where, "sheet_name = ?"), append(args, f.SheetName)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(f.Status))
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	rs, err := l.rq(ctx, `SELECT `+planCols+` FROM plans WHERE `+strings.Join(where, " AND ")+
		` ORDER BY id DESC LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	defer rs.Close()
	var out []Plan
	for rs.Next() {
		p, err := scanPlan(rs)
		if err != nil {
			return nil, fmt.Errorf("list plans: %w", err)
		}
		out = append(out, p)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	return out, nil
}

// FormatTotals renders totals as "EUR 10.00, USD 1234.50", currencies in
// order, for messages.
func FormatTotals(t map[string]decimal.Decimal) string {
	if len(t) == 0 {
		return "no amounts"
	}
	curs := make([]string, 0, len(t))
	for c := range t {
		curs = append(curs, c)
	}
	slices.Sort(curs)
	parts := make([]string, len(curs))
	for i, c := range curs {
		parts[i] = c + " " + decString(t[c])
	}
	return strings.Join(parts, ", ")
}

func planEventData(p Plan, action, by, note string) json.RawMessage {
	d := map[string]any{"plan_id": p.ID, "action": action, "user": by, "sheet": p.SheetName, "sheet_sha256": p.SheetSHA256}
	if note != "" {
		d["note"] = note
	}
	b, _ := json.Marshal(d)
	return b
}

func isHexSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}

func scanPlan(s scanner) (Plan, error) {
	var (
		p                Plan
		totals, status   string
		prepared, decide sql.NullString
	)
	if err := s.Scan(&p.ID, &p.SheetName, &p.SheetSHA256, &p.Rows, &totals, &p.Environment, &p.PreparedBy,
		&prepared, &status, &p.DecidedBy, &decide, &p.Reason); err != nil {
		return Plan{}, err
	}
	var err error
	if p.PreparedAt, err = parseTime(prepared); err != nil {
		return Plan{}, err
	}
	if p.DecidedAt, err = parseTime(decide); err != nil {
		return Plan{}, err
	}
	b, err := unmarshalBalances(sql.NullString{String: totals, Valid: true})
	if err != nil {
		return Plan{}, err
	}
	p.Totals, p.Status = map[string]decimal.Decimal(b), PlanStatus(status)
	return p, nil
}
