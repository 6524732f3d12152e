package results

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/ledger"
)

// fixtureClock is the ledger's fixed clock, so updated_at is known.
var fixtureClock = time.Date(2026, 3, 31, 14, 30, 0, 0, time.UTC)

const fixtureKYCLink = "https://sandbox.masspay.example/kyc/upload/5b0f4c1e-6a43-4c1b-9a51-2f7a1c9d0e11"

// fixtureHeaders is the sheet of the fixture run, with an unknown column
// (cost_center) that the results must echo.
var fixtureHeaders = []string{
	"client_transfer_id", "internal_user_id", "first_name", "last_name", "email",
	"country", "amount", "method", "source_currency", "destination_currency", "cost_center",
}

type fixtureRow struct {
	id, first, last, email, country, amount, method, dst string
	states                                               []ledger.State
	upd                                                  ledger.RowUpdate
	invalid                                              string
}

// fixtureRows has every result kind; the conflicting row is added apart.
func fixtureRows() []fixtureRow {
	payout := []ledger.State{ledger.StateUserReady, ledger.StateRouteReady, ledger.StateInitiating,
		ledger.StateInitiated, ledger.StateCommitting}
	return []fixtureRow{
		{id: "mar-001", first: "María", last: "López", email: "maria@example.com", country: "MEX", amount: "100.00", method: "payout", dst: "MXN",
			states: append(payout, ledger.StatePaid),
			upd: ledger.RowUpdate{PayoutToken: ptr("payout_a1"), Fee: ptr(dec("3.99")), ExchangeRate: ptr(dec("18.37")),
				SourceAmount: ptr(dec("100.00")), DestinationAmount: ptr(dec("1837.00")), PickupCode: ptr("PK-55120"),
				PayerName: ptr("Elektra"), DeliveryType: ptr("CASH_PICKUP"), MasspayStatus: ptr("PENDING"),
				EstimatedAvailability: ptr("2026-04-01T10:00:00Z"), Attempts: ptr(1)}},
		{id: "mar-002", first: "Ben", last: "Okafor", email: "ben@example.com", country: "NGA", amount: "250.00", method: "load", dst: "USD",
			states: []ledger.State{ledger.StateUserReady, ledger.StateLoadSent, ledger.StateLoaded},
			upd:    ledger.RowUpdate{LoadToken: ptr("ld_b2"), MasspayStatus: ptr("COMPLETED"), Attempts: ptr(1)}},
		{id: "mar-003", first: "Chloé", last: "Martin", email: "chloe@example.com", country: "CAN", amount: "75.50", method: "load", dst: "USD",
			states: []ledger.State{ledger.StateUserReady, ledger.StateLoadSent, ledger.StateScheduled},
			upd:    ledger.RowUpdate{LoadToken: ptr("ld_c3"), MasspayStatus: ptr("SCHEDULED")}},
		{id: "mar-004", first: "Dev", last: "Patel", email: "dev@kyc-hold.example", country: "IND", amount: "300.00", method: "load", dst: "USD",
			states: []ledger.State{ledger.StateUserReady, ledger.StateNeedsAction},
			upd: ledger.RowUpdate{KYCUploadLink: ptr(fixtureKYCLink), LastError: ptr("Compliance hold: User is on a compliance hold"),
				Attempts: ptr(1)}},
		{id: "mar-005", first: "Eve", last: "Adams", email: "eve@example.com", country: "USA", amount: "1200.00", method: "payout", dst: "USD",
			states: []ledger.State{ledger.StateUserReady, ledger.StateNeedsAction},
			upd: ledger.RowUpdate{ActionNeeded: ptr(ActionAddAttribute("Routing number (ABA)", "BankRoutingNumber")),
				LastError: ptr("missing attribute BankRoutingNumber")}},
		{id: "mar-006", first: "Farid", last: "Haddad", email: "farid@example.com", country: "GBR", amount: "40.13", method: "payout", dst: "GBP",
			states: append(payout, ledger.StateFailed),
			upd:    ledger.RowUpdate{PayoutToken: ptr("payout_f6"), MasspayStatus: ptr("failure"), LastError: ptr("commit answered status failure"), Attempts: ptr(2)}},
		{id: "mar-007", first: "Gus", last: "", email: "gus@", country: "XXX", amount: "abc", method: "payout", dst: "USD",
			invalid: "amount is not a number; country XXX is unknown"},
		{id: "mar-009", first: "Hana", last: "Sato", email: "hana@example.com", country: "JPN", amount: "100.00", method: "payout", dst: "JPY",
			states: append(payout, ledger.StatePaid),
			upd: ledger.RowUpdate{PayoutToken: ptr("payout_h9"), Fee: ptr(dec("2.00")), ExchangeRate: ptr(dec("150.25")),
				SourceAmount: ptr(dec("100.00")), DestinationAmount: ptr(dec("15025")), MasspayStatus: ptr("PENDING")}},
		{id: "mar-010", first: "Ivan", last: "Petrov", email: "ivan@example.com", country: "USA", amount: "50.00", method: "payout", dst: "BTC",
			states: append(payout, ledger.StatePaid),
			upd: ledger.RowUpdate{PayoutToken: ptr("payout_i10"), Fee: ptr(dec("1.00")), ExchangeRate: ptr(dec("0.0000105")),
				SourceAmount: ptr(dec("50.00")), DestinationAmount: ptr(dec("0.000525")), MasspayStatus: ptr("PROCESSING")}},
		{id: "mar-011", first: "Jo", last: "Kim", email: "jo@example.com", country: "PHL", amount: "60.00", method: "payout", dst: "PHP",
			states: payout, // the process died while committing: outcome unknown
			upd:    ledger.RowUpdate{PayoutToken: ptr("payout_j11"), Attempts: ptr(1)}},
	}
}

func (f fixtureRow) input(line int) ledger.RowInput {
	vals := []string{f.id, "u-" + f.id, f.first, f.last, f.email, f.country, f.amount, f.method, "USD", f.dst, "CC-" + f.country}
	cols := make([]ledger.Column, len(fixtureHeaders))
	for i, h := range fixtureHeaders {
		cols[i] = ledger.Column{Header: h, Value: vals[i]}
	}
	amt, _ := decimal.NewFromString(f.amount)
	return ledger.RowInput{
		ID: f.id, Line: line, Input: cols, Method: f.method, InternalUserID: "u-" + f.id,
		Amount: amt, SourceCurrency: "USD", DestinationCurrency: f.dst, AmountIs: "source",
		Fingerprint: ledger.Fingerprint(f.id, f.email, f.method, amt.String(), "USD", f.dst),
		Invalid:     f.invalid,
	}
}

// buildFixtureLedger writes, through the ledger's public API, a run 1 that
// paid "dup-1", then a run 2 whose sheet has every result kind, including a
// changed dup-1 (a conflict). It returns the ledger and run 2's ID.
func buildFixtureLedger(t testing.TB) (*ledger.Ledger, int64, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	l, err := ledger.Open(ctx, filepath.Join(dir, "payrun.ledger"), ledger.Options{Clock: func() time.Time { return fixtureClock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	dup := fixtureRow{id: "dup-1", first: "Kai", last: "Berg", email: "kai@example.com", country: "USA", amount: "100.00", method: "load", dst: "USD"}
	run1, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: filepath.Join(dir, "february.xlsx"), SheetSHA256: "aa", Environment: "sandbox",
		StartedAt: fixtureClock.Add(-30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.UpsertRows(ctx, run1.ID, []ledger.RowInput{dup.input(2)}); err != nil {
		t.Fatal(err)
	}
	walk(t, l, "dup-1", []ledger.State{ledger.StateUserReady, ledger.StateLoadSent, ledger.StateLoaded}, ledger.RowUpdate{LoadToken: ptr("ld_dup")})
	if _, err := l.FinishRun(ctx, run1.ID, ledger.RunFinish{Status: ledger.RunFinished}); err != nil {
		t.Fatal(err)
	}

	sheet := filepath.Join(dir, "march.xlsx")
	run, err := l.BeginRun(ctx, ledger.RunInfo{
		SheetName: sheet, SheetSHA256: "3f2a9c0d5e7b8a1c4d6e9f0a2b3c5d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c",
		Operator: "finance@host", Environment: "sandbox",
		BalancesBefore: ledger.Balances{"USD": dec("10000.00"), "BTC": dec("10")},
		StartedAt:      time.Date(2026, 3, 31, 14, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := fixtureRows()
	var in []ledger.RowInput
	for i, r := range rows {
		line := i + 2
		if i >= 7 {
			line++ // line 9 is the conflicting dup-1
		}
		in = append(in, r.input(line))
	}
	changed := dup
	changed.amount = "120.00"
	in = append(in, changed.input(9))
	res, err := l.UpsertRows(ctx, run.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	_ = res
	for _, r := range rows {
		if r.invalid == "" {
			walk(t, l, r.id, r.states, r.upd)
		}
	}
	// Reconcile learnt that mar-009 completed: MassPay's later status.
	if _, err := l.UpdateStatus(ctx, "mar-009", "COMPLETED", fixtureStatusTime, ledger.Event{Kind: ledger.EventReconcile}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.FinishRun(ctx, run.ID, ledger.RunFinish{Status: ledger.RunFinished,
		BalancesAfter: ledger.Balances{"USD": dec("9257.01"), "BTC": dec("10")},
		FinishedAt:    time.Date(2026, 3, 31, 14, 20, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	return l, run.ID, sheet
}

// walk moves row id from new through states, applying upd on the last step.
func walk(t testing.TB, l *ledger.Ledger, id string, states []ledger.State, upd ledger.RowUpdate) {
	t.Helper()
	from := ledger.StateNew
	for i, to := range states {
		u := ledger.RowUpdate{}
		if i == len(states)-1 {
			u = upd
		}
		if _, err := l.Transition(context.Background(), id, from, to, u, ledger.Event{}); err != nil {
			t.Fatalf("%s %s -> %s: %v", id, from, to, err)
		}
		from = to
	}
}

// fixtureStatusTime is when reconcile learned mar-009's COMPLETED.
var fixtureStatusTime = time.Date(2026, 3, 31, 15, 5, 0, 0, time.UTC)
