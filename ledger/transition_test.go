package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
	"github.com/shopspring/decimal"
)

func TestTransitionRaceExactlyOneWins(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		const rounds, racers = 20, 4
		for round := range rounds {
			id := fmt.Sprintf("race-%d", round)
			upsert(t, l, run.ID, input(id, round+2, "1.00"))
			walk(t, l, id, ledger.StateRouteReady)
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				errs  = make([]error, racers)
			)
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = l.Transition(ctx, id, ledger.StateRouteReady, ledger.StateInitiating,
						ledger.RowUpdate{AddAttempts: 1}, ledger.Event{IdempotencyKey: ledger.PayoutKey(id, 1)})
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, ledger.ErrStaleState):
					t.Errorf("loser's error = %v, want ErrStaleState", err)
				}
			}
			row, _ := l.Row(ctx, id)
			if wins != 1 || row.Attempts != 1 || row.State != ledger.StateInitiating {
				t.Fatalf("round %d: %d winners, row %s attempts %d", round, wins, row.State, row.Attempts)
			}
		}
	})
}

func TestTransitionStaleAndMissing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		upsert(t, l, run.ID, input("a", 2, "1.00"))
		_, err := l.Transition(ctx, "a", ledger.StateUserReady, ledger.StateRouteReady, ledger.RowUpdate{}, ledger.Event{})
		var se *ledger.StaleStateError
		if !errors.As(err, &se) || se.Expected != ledger.StateUserReady || se.Actual != ledger.StateNew {
			t.Errorf("stale transition = %v, want StaleStateError user_ready/new", err)
		}
		if !errors.Is(err, ledger.ErrStaleState) {
			t.Errorf("%v does not match ErrStaleState", err)
		}
		_, err = l.Transition(ctx, "nope", ledger.StateNew, ledger.StateUserReady, ledger.RowUpdate{}, ledger.Event{})
		if !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("missing row = %v, want ErrNotFound", err)
		}
		n := 0
		for range l.Events(ctx, ledger.EventFilter{TransferID: "a", Kind: ledger.EventTransition}) {
			n++
		}
		if n != 0 {
			t.Errorf("failed transitions wrote %d events", n)
		}
	})
}

func TestTransitionWritesFieldsAndEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		upsert(t, l, run.ID, input("a", 2, "100.00"))
		walk(t, l, "a", ledger.StateInitiating)
		changed := time.Date(2026, 3, 31, 13, 0, 0, 123, time.UTC)
		row, err := l.Transition(ctx, "a", ledger.StateInitiating, ledger.StateInitiated, ledger.RowUpdate{
			PayoutToken:       new("payout_123"),
			Fee:               new(decimal.RequireFromString("2.99")),
			ExchangeRate:      new(decimal.RequireFromString("18.37")),
			SourceAmount:      new(decimal.RequireFromString("100.00")),
			DestinationAmount: new(decimal.RequireFromString("1837.00")),
			PayerName:         new("Elektra"), DeliveryType: new("CASH_PICKUP"), CountryCode: new("MEX"),
			MasspayStatus: new("initiated"), StatusChangedAt: &changed,
			Attempts: new(3), AddAttempts: 1,
		}, ledger.Event{Kind: ledger.EventAPICall, IdempotencyKey: "a", HTTPStatus: 200, Data: []byte(`{"ok":true}`)})
		if err != nil {
			t.Fatal(err)
		}
		reread, _ := l.Row(ctx, "a")
		for _, r := range []ledger.Row{row, reread} {
			if r.PayoutToken != "payout_123" || r.Fee.Decimal.String() != "2.99" || !r.Fee.Valid ||
				r.SourceAmount.Decimal.StringFixed(2) != "100.00" || r.DestinationAmount.Decimal.String() != "1837" ||
				r.PayerName != "Elektra" || r.Attempts != 4 || !r.StatusChangedAt.Equal(changed) ||
				r.MasspayStatus != "initiated" || r.CommitKey() != "a#commit" {
				t.Errorf("row = %+v", r)
			}
		}
		// A fresh quote after ex_rate_expired: initiated -> initiating with quote 2.
		row, err = l.Transition(ctx, "a", ledger.StateInitiated, ledger.StateInitiating,
			ledger.RowUpdate{QuoteSeq: new(2), LastError: new("ex_rate_expired")}, ledger.Event{})
		if err != nil || row.PayoutKey() != "a#2" || row.CommitKey() != "a#2#commit" || row.LastError != "ex_rate_expired" {
			t.Errorf("fresh quote: %+v, %v", row, err)
		}
		var api []ledger.Event
		for ev, err := range l.Events(ctx, ledger.EventFilter{TransferID: "a", Kind: ledger.EventAPICall}) {
			if err != nil {
				t.Fatal(err)
			}
			api = append(api, ev)
		}
		if len(api) != 1 || api[0].IdempotencyKey != "a" || api[0].HTTPStatus != 200 ||
			api[0].From != ledger.StateInitiating || api[0].To != ledger.StateInitiated || string(api[0].Data) != `{"ok":true}` {
			t.Errorf("api_call events = %+v", api)
		}
		if _, err := l.Transition(ctx, "a", ledger.StateInitiating, ledger.StateInitiating, ledger.RowUpdate{QuoteSeq: new(0)}, ledger.Event{}); err == nil {
			t.Error("quote_seq 0 accepted")
		}
	})
}

// TestGroupCommitIsolatesFailures sends many concurrent transitions, half of
// them stale, so they share transactions: each caller must get its own
// outcome, and only the winners' changes and events may land.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		const n = 64
		var in []ledger.RowInput
		for i := range n {
			in = append(in, input(fmt.Sprintf("g%d", i), i+2, "1.00"))
		}
		upsert(t, l, run.ID, in...)
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from := ledger.StateNew
				if i%2 == 1 {
					from = ledger.StateUserReady // stale: the row is new
				}
				_, errs[i] = l.Transition(ctx, fmt.Sprintf("g%d", i), from, ledger.StateFailed,
					ledger.RowUpdate{LastError: new("refused")}, ledger.Event{})
			}()
		}
		wg.Wait()
		for i := range n {
			row, _ := l.Row(ctx, fmt.Sprintf("g%d", i))
			if i%2 == 0 && (errs[i] != nil || row.State != ledger.StateFailed || row.LastError != "refused") {
				t.Errorf("g%d: err %v, row %s %q", i, errs[i], row.State, row.LastError)
			}
			if i%2 == 1 && (!errors.Is(errs[i], ledger.ErrStaleState) || row.State != ledger.StateNew || row.LastError != "") {
				t.Errorf("g%d: err %v, row %s %q", i, errs[i], row.State, row.LastError)
			}
		}
		counts, _ := l.Counts(ctx, run.ID)
		if counts[ledger.StateFailed] != n/2 || counts[ledger.StateNew] != n/2 {
			t.Errorf("counts = %v", counts)
		}
		events := 0
		for range l.Events(ctx, ledger.EventFilter{RunID: run.ID, Kind: ledger.EventTransition}) {
			events++
		}
		if events != n/2 {
			t.Errorf("%d transition events, want %d", events, n/2)
		}
	})
}

func TestRetryFromNeedsAction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		upsert(t, l, run.ID, input("k", 2, "1.00"))
		walk(t, l, "k", ledger.StateRouteReady)
		link := "https://sandbox.masspay.example/kyc/upload/1"
		if _, err := l.Transition(ctx, "k", ledger.StateRouteReady, ledger.StateNeedsAction, ledger.RowUpdate{
			KYCUploadLink: &link, ActionNeeded: new("upload KYC documents"), LastError: new("KYC_HOLD"),
		}, ledger.Event{Kind: ledger.EventAPICall, HTTPStatus: 403}); err != nil {
			t.Fatal(err)
		}
		row, err := l.Transition(ctx, "k", ledger.StateNeedsAction, ledger.StateNew,
			ledger.RowUpdate{Attempts: new(0), ActionNeeded: new(""), LastError: new("")},
			ledger.Event{Kind: ledger.EventRetry, Message: "KYC hold lifted"})
		if err != nil || row.State != ledger.StateNew || row.KYCUploadLink != link || row.ActionNeeded != "" {
			t.Errorf("retry: %+v, %v", row, err)
		}
		n := 0
		for ev := range l.Events(ctx, ledger.EventFilter{TransferID: "k", Kind: ledger.EventRetry}) {
			n++
			if ev.From != ledger.StateNeedsAction || ev.To != ledger.StateNew {
				t.Errorf("retry event = %+v", ev)
			}
		}
		if n != 1 {
			t.Errorf("%d retry events", n)
		}
	})
}

// TestTransitionRaceAcrossHandles races two ledger handles (two writers, as
// two processes would have) on the same rows in opposite orders: on each
// row exactly one compare-and-set wins, and no transition is lost to the
// other writer's locks.
func TestTransitionRaceAcrossHandles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l1, loc := b.openTemp(t)
		l2 := openAt(t, loc)
		run := beginRun(t, l1)
		const n = 40
		var in []ledger.RowInput
		for i := range n {
			in = append(in, input(fmt.Sprintf("x%d", i), i+2, "1.00"))
		}
		upsert(t, l1, run.ID, in...)
		var wg sync.WaitGroup
		errs := make([][]error, 2)
		for h, l := range []*ledger.Ledger{l1, l2} {
			errs[h] = make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("x%d", i)
					if h == 1 {
						id = fmt.Sprintf("x%d", n-1-i)
					}
					_, err := l.Transition(ctx, id, ledger.StateNew, ledger.StateUserReady, ledger.RowUpdate{AddAttempts: 1}, ledger.Event{})
					errs[h][i] = err
				}()
			}
		}
		wg.Wait()
		for h := range errs {
			for i, err := range errs[h] {
				if err != nil && !errors.Is(err, ledger.ErrStaleState) {
					t.Errorf("handle %d, write %d: %v", h, i, err)
				}
			}
		}
		for i := range n {
			row, err := l1.Row(ctx, fmt.Sprintf("x%d", i))
			if err != nil || row.State != ledger.StateUserReady || row.Attempts != 1 {
				t.Errorf("x%d: %s attempts %d, %v", i, row.State, row.Attempts, err)
			}
		}
	})
}
