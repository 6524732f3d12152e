package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// The request behind an intent is recorded in the intent's own transaction,
// survives a reopen, and a key's first record is final: a second intent
// under the same key (another body) and direct updates leave it as it was.
func TestRequestRecordedWithIntentIsFinal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, path := b.openTemp(t)
		run := beginRun(t, l)
		upsert(t, l, run.ID, input("a", 2, "1.00"))
		walk(t, l, "a", ledger.StateUserReady)
		first := []byte(`{"client_load_id":"a","amount":1.00,"notes":"June"}`)
		if _, err := l.Transition(ctx, "a", ledger.StateUserReady, ledger.StateLoadSent, ledger.RowUpdate{
			Request: &ledger.Request{Key: "a", Kind: ledger.RequestLoad, Body: first}}, ledger.Event{}); err != nil {
			t.Fatal(err)
		}
		// The same key recorded again, with another body, keeps the first.
		if _, err := l.Transition(ctx, "a", ledger.StateLoadSent, ledger.StateLoadSent, ledger.RowUpdate{
			Request: &ledger.Request{Key: "a", Kind: ledger.RequestLoad, Body: []byte(`{"notes":"July"}`)}}, ledger.Event{}); err != nil {
			t.Fatal(err)
		}
		if q, err := l.RecordRequest(ctx, "a", ledger.Request{Key: "a", Kind: ledger.RequestLoad, Body: []byte(`{}`)}); err != nil || !bytes.Equal(q.Body, first) {
			t.Fatalf("RecordRequest over a recorded key = %s, %v; want the first body", q.Body, err)
		}
		// Both intents' events name the body recorded under the key.
		n := 0
		for ev, err := range l.Events(ctx, ledger.EventFilter{TransferID: "a"}) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.To == ledger.StateLoadSent {
				n++
				if !bytes.Contains(ev.Data, []byte(ledger.BodyHash(first))) {
					t.Errorf("intent event %d data %s lacks the recorded body's hash", ev.Seq, ev.Data)
				}
			}
		}
		if n != 2 {
			t.Errorf("%d intent events, want 2", n)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = openAt(t, path)
		q, err := l.Request(ctx, "a", "a")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(q.Body, first) || q.Kind != ledger.RequestLoad || q.SHA256 != ledger.BodyHash(first) || q.RecordedAt.IsZero() {
			t.Errorf("request = %+v, want the first body with its hash", q)
		}
		if _, err := l.Request(ctx, "a", "a#2"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("unrecorded key: %v, want ErrNotFound", err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, path)
		if _, err := db.Exec(`UPDATE requests SET recorded_at = 'forged'`); err == nil || !strings.Contains(err.Error(), "a recorded request is final") {
			t.Error("a recorded request was updated")
		}
		if _, err := db.Exec(`DELETE FROM requests`); err == nil || !strings.Contains(err.Error(), "a recorded request is final") {
			t.Error("a recorded request was deleted")
		}
	})
}
