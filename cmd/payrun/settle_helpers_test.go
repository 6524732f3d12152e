package main

import (
	"context"
	"database/sql"
	"testing"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/ledger"
)

// settleSheet records sheet in the ledger at ledgerPath through the real
// ingest path (one finished run) and then marks every row final as a run
// that paid it would have: loads LOADED, payouts PAID, each with the
// transition's event. It stands in for paying 100,000 rows through the
// sandbox, which takes a quarter of an hour on a test machine.
func settleSheet(t testing.TB, ledgerPath, sheet string) {
	t.Helper()
	ctx := context.Background()
	l, err := ledger.Open(ctx, ledgerPath, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.FileSHA256(sheet)
	if err != nil {
		t.Fatal(err)
	}
	run, err := l.BeginRun(ctx, ledger.RunInfo{SheetName: sheet, SheetSHA256: sum, Environment: "custom",
		IngestKey: ingestKey(sum, ingest.IngestOptions{}, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RecordSheet(ctx, l, run.ID, sheet, ingest.IngestOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := l.FinishRun(ctx, run.ID, ledger.RunFinish{Status: ledger.RunFinished}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+ledgerPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`INSERT INTO events (at, run_id, client_transfer_id, kind, from_state, to_state)
			SELECT updated_at, last_run_id, client_transfer_id, 'transition', state,
				CASE method WHEN 'load' THEN 'LOADED' ELSE 'PAID' END FROM rows`,
		`UPDATE rows SET state = CASE method WHEN 'load' THEN 'LOADED' ELSE 'PAID' END,
			masspay_status = 'COMPLETED', fee = '0.50', source_amount = amount, destination_amount = amount,
			exchange_rate = '1', user_token = 'usr_' || internal_user_id`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}
