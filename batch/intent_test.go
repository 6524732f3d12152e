package batch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// answerDropper forwards every request to the sandbox and, while dropping
// is on, throws away the answer to requests under the chosen
// Idempotency-Keys: MassPay did the work, payrun never learns it. It also
// keeps every body sent under each key, to compare re-sends byte for byte.
type answerDropper struct {
	drop     map[string]bool // Idempotency-Keys whose answers are lost
	dropping atomic.Bool

	mu     sync.Mutex
	bodies map[string][][]byte
}

func (d *answerDropper) RoundTrip(r *http.Request) (*http.Response, error) {
	key := r.Header.Get("Idempotency-Key")
	if r.Body != nil && key != "" {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		d.mu.Lock()
		d.bodies[key] = append(d.bodies[key], b)
		d.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	// A lookup (GET, no key) is dropped by the address it asks about; the
	// payee's loads and history, which the runner asks before re-sending
	// an unknown call, are dropped while dropping is on, so the row stays
	// in flight until the re-run.
	q := r.URL.Query()
	lookup := r.Method == http.MethodGet && (d.drop["lookup:"+q.Get("email")] || d.drop["lookup:"+q.Get("internal_user_id")] ||
		strings.Contains(r.URL.Path, "/load/") || strings.HasSuffix(r.URL.Path, "/history"))
	if err != nil || !d.dropping.Load() || !(d.drop[key] || lookup) {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, errors.New("connection reset by peer (answer dropped by the test)")
}

func (d *answerDropper) sent(key string) [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([][]byte(nil), d.bodies[key]...)
}

// intentSheet is two wallet loads and one bank payout; note and meta fill
// the columns left out of the fingerprint.
func intentSheet(t *testing.T, path, note, meta string) {
	t.Helper()
	sheet := "client_transfer_id,internal_user_id,first_name,last_name,email,country,amount,method,destination_currency,attr:BankAccountNumber,attr:BankRoutingNumber,notes,metadata:ref\n" +
		fmt.Sprintf("i-load,u-1,Ana,Lima,ana@example.com,USA,75.00,load,USD,,,%s,%s\n", note, meta) +
		fmt.Sprintf("i-pay,u-2,Bo,Chen,bo@example.com,USA,120.00,payout,USD,123456789,021000021,%s,%s\n", note, meta) +
		fmt.Sprintf("i-new,u-3,Cy,Diaz,cy@example.com,USA,30.00,load,USD,,,%s,%s\n", note, meta)
	if err := os.WriteFile(path, []byte(sheet), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Case 1 of issue 17: a load and an initiate whose answers were lost, then
// a sheet whose notes and metadata (outside the fingerprint) were corrected.
// The re-run must re-send the recorded bytes under the same keys, so MassPay
// replays: wallet loaded once, row LOADED, payout paid once, row PAID. A body
// rebuilt from the corrected sheet got 422 IDEMPOTENCY_KEY_REUSED and ended
// both rows FAILED although the money had moved.
func TestLostAnswerThenCorrectedNotesResendsRecordedBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := sandbox.Start(sandbox.Config{APIKey: sandbox.DefaultAPIKey, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	// i-new's payee look-ups and creation lose their answers, so i-new
	// stays new: nothing of it was sent, and a corrected sheet may still
	// change its note.
	tr := &answerDropper{drop: map[string]bool{"i-load": true, "i-pay": true, "user:u-3": true, "lookup:cy@example.com": true,
		"lookup:u-3": true}, bodies: map[string][][]byte{}}
	tr.dropping.Store(true)
	api, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: sandbox.DefaultAPIKey,
		HTTPClient: &http.Client{Transport: tr}, MaxRetries: 1,
		MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledger.Open(ctx, filepath.Join(dir, "payrun.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	sheet := filepath.Join(dir, "june.csv")
	runSheet := func() int64 {
		t.Helper()
		run, err := led.BeginRun(ctx, ledger.RunInfo{SheetName: sheet, SheetSHA256: "test", Environment: "sandbox"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.RecordSheet(ctx, led, run.ID, sheet, ingest.IngestOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		r := &Runner{API: api, Ledger: led, Workers: 2, Log: zerolog.Nop(), UnknownOutcomeRetries: 1, RetryWait: time.Millisecond}
		if _, err := r.Run(ctx, ctx, run.ID); err != nil {
			t.Fatalf("run %d: %v", run.ID, err)
		}
		return run.ID
	}

	intentSheet(t, sheet, "June fees", "ref-1")
	runSheet()
	if row, _ := led.Row(ctx, "i-load"); row.State != ledger.StateLoadSent {
		t.Fatalf("setup: i-load is %s, want load_sent (answer lost)", row.State)
	}
	if row, _ := led.Row(ctx, "i-pay"); row.State != ledger.StateInitiating {
		t.Fatalf("setup: i-pay is %s, want initiating (answer lost)", row.State)
	}
	if row, _ := led.Row(ctx, "i-new"); row.State != ledger.StateNew {
		t.Fatalf("setup: i-new is %s, want new (payee creation's answer lost)", row.State)
	}
	if n := len(srv.Audit().Loads); n != 1 {
		t.Fatalf("setup: MassPay holds %d loads, want 1 (the lost answer's)", n)
	}

	// Only the columns outside the fingerprint change, then the re-run.
	intentSheet(t, sheet, "June fees (typo fixed)", "ref-2")
	tr.dropping.Store(false)
	runID := runSheet()

	rows := map[string]ledger.Row{}
	for r, err := range led.Rows(ctx, ledger.RowFilter{RunID: runID}) {
		if err != nil {
			t.Fatal(err)
		}
		rows[r.ID] = r
	}
	if r := rows["i-load"]; r.State != ledger.StateLoaded {
		t.Errorf("i-load is %s (%s), want LOADED", r.State, r.LastError)
	}
	if r := rows["i-pay"]; r.State != ledger.StatePaid {
		t.Errorf("i-pay is %s (%s), want PAID", r.State, r.LastError)
	}
	if r := rows["i-new"]; r.State != ledger.StateLoaded {
		t.Errorf("i-new is %s (%s), want LOADED", r.State, r.LastError)
	}
	checkAgreement(t, srv.Audit(), rows)
	if n := len(srv.Audit().Loads); n != 2 {
		t.Errorf("MassPay holds %d loads, want i-load's wallet loaded once and i-new's", n)
	}
	if sent := tr.sent("i-new"); len(sent) != 1 || !bytes.Contains(sent[0], []byte("typo fixed")) {
		t.Errorf("i-new, still new when the sheet was corrected, sent %q; want the corrected note", sent)
	}
	// i-pay's quote moved no money and is simply re-sent; i-load's lost
	// load is found in the payee's loads before any re-send (issue 17's
	// outcome rule), so it may have gone out once only. Every send under a
	// key carries the recorded bytes.
	for key, min := range map[string]int{"i-load": 1, "i-pay": 2} {
		sent := tr.sent(key)
		if len(sent) < min {
			t.Fatalf("%s sent %d times, want at least %d", key, len(sent), min)
		}
		for i, b := range sent[1:] {
			if !bytes.Equal(b, sent[0]) {
				t.Errorf("%s: send %d differs from the first:\n first %s\n later %s", key, i+2, sent[0], b)
			}
		}
	}
}

// A key MassPay refuses as reused (422 IDEMPOTENCY_KEY_REUSED) was sent
// before with another request, which may have moved money: the row must
// stop for a person with the evidence, never end FAILED (which invites a
// payment by hand), and no re-run may retry it on its own. Here another
// system used the row's key first, for a load to someone else.
func TestKeyReusedStopsRowForPersonNotFailed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := sandbox.Start(sandbox.Config{APIKey: sandbox.DefaultAPIKey, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	api, err := masspay.New(masspay.Config{BaseURL: srv.URL(), APIKey: sandbox.DefaultAPIKey,
		MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	other, err := api.CreateUser(ctx, "user:someone-else", masspay.User{Profile: masspay.Profile{InternalUserID: "someone-else", Country: "USA",
		FirstName: "Zed", LastName: "Other", Email: "zed@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	bals, err := api.Balances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Load(ctx, "k-load", other.UserToken, masspay.LoadTxn{ClientLoadID: "elsewhere-1",
		SourceToken: bals[0].Token, Amount: bals[0].Balance.Div(bals[0].Balance), SourceCurrencyCode: bals[0].CurrencyCode}); err != nil {
		t.Fatal(err)
	}

	led, err := ledger.Open(ctx, filepath.Join(dir, "payrun.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	sheet := filepath.Join(dir, "aug.csv")
	if err := os.WriteFile(sheet, []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount,method\n"+
		"k-load,u-1,Ana,Lima,ana@example.com,USA,80.00,load\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runOnce := func() int64 {
		t.Helper()
		run, err := led.BeginRun(ctx, ledger.RunInfo{SheetName: sheet, SheetSHA256: "test", Environment: "sandbox"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.RecordSheet(ctx, led, run.ID, sheet, ingest.IngestOptions{}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := led.RetryNeedsAction(ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		r := &Runner{API: api, Ledger: led, Workers: 1, Log: zerolog.Nop(), RetryWait: time.Millisecond}
		if _, err := r.Run(ctx, ctx, run.ID); err != nil {
			t.Fatal(err)
		}
		return run.ID
	}
	runOnce()
	row, err := led.Row(ctx, "k-load")
	if err != nil {
		t.Fatal(err)
	}
	if row.State != ledger.StateNeedsAction || row.InternalError == "" {
		t.Fatalf("k-load is %s (internal error %q, %s), want NEEDS_ACTION stopped on an internal error", row.State, row.InternalError, row.LastError)
	}
	q, err := led.Request(ctx, "k-load", "k-load")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for ev, err := range led.Events(ctx, ledger.EventFilter{TransferID: "k-load", Kind: ledger.EventInternalError}) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || (ev.IdempotencyKey == "k-load" && ev.HTTPStatus == http.StatusUnprocessableEntity &&
			bytes.Contains(ev.Data, []byte(q.SHA256)))
	}
	if !found || q.SHA256 == "" {
		t.Errorf("no internal_error event naming the key and the recorded body's hash %q", q.SHA256)
	}
	// A re-run (which retries NEEDS_ACTION rows) leaves it to a person.
	runOnce()
	if again, _ := led.Row(ctx, "k-load"); again.State != ledger.StateNeedsAction || again.QuoteSeq != row.QuoteSeq {
		t.Errorf("after a re-run k-load is %s at quote %d, want left alone", again.State, again.QuoteSeq)
	}
}
