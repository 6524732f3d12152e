package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// CopyToPostgres copies a SQLite ledger whole: counts and totals match, the
// exports are byte-identical, the identity sequences continue past the
// copied ids, the append-only triggers still hold, and a second copy into
// the now non-empty target is refused.
func TestCopyToPostgres(t *testing.T) {
	ctx := context.Background()
	src, _ := openTemp(t)
	for i := range 2 {
		run := beginRun(t, src)
		upsert(t, src, run.ID, input("a-1", 2, "10.25"), input("a-2", 3, "0.75"), input("a-3", 4, "100"))
		if i == 0 {
			walk(t, src, "a-1", ledger.StatePaid)
			walk(t, src, "a-2", ledger.StateFailed)
		}
	}
	sheet, err := src.StoreSheetFile(ctx, "june.csv", []byte("client_transfer_id,amount\n\x00\xffT-1,1\n"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.URL(t)
	dst := openAt(t, url)
	rep, err := src.CopyToPostgres(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	// A stored sheet's bytes (BLOB to bytea) arrive as they left.
	if got, err := dst.SheetFileBySHA256(ctx, sheet.SHA256); err != nil || !bytes.Equal(got.Content, sheet.Content) || got.Name != "june.csv" {
		t.Errorf("copied sheet = %q %q, %v", got.Content, got.Name, err)
	}
	counts := map[string]int64{}
	for _, c := range rep.Tables {
		counts[c.Table] = c.Rows
	}
	if counts["runs"] != 2 || counts["rows"] != 3 || counts["run_rows"] != 6 || counts["events"] == 0 {
		t.Errorf("counts %v", counts)
	}
	for _, want := range []string{"plans", "console_users", "console_sessions", "alerts", "payee_routes", "archived_runs", "requests", "sheet_files"} {
		if _, ok := counts[want]; !ok {
			t.Errorf("table %s not copied (copied %v)", want, counts)
		}
	}
	if len(rep.Totals) != 2 || rep.Totals[1].Total.String() != "111" || rep.Totals[1].Currency != "USD" {
		t.Errorf("totals %+v", rep.Totals)
	}
	var a, b bytes.Buffer
	if err := src.ExportJSONL(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if err := dst.ExportJSONL(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("exports differ:\n%s\n---\n%s", a.String(), b.String())
	}
	// The next run gets the next id, not 1 again.
	if run := beginRun(t, dst); run.ID != 3 {
		t.Errorf("first run on the copy has id %d, want 3", run.ID)
	}
	// The copy only inserts: no trigger of the target may fire on INSERT
	// (the append-only ones fire on UPDATE and DELETE).
	var onInsert int
	if err := rawDB(t, url).QueryRowContext(ctx, `SELECT count(*) FROM information_schema.triggers
		WHERE trigger_schema = current_schema() AND event_manipulation = 'INSERT'`).Scan(&onInsert); err != nil || onInsert != 0 {
		t.Errorf("triggers on INSERT: %d (%v)", onInsert, err)
	}
	if _, err := rawDB(t, url).ExecContext(ctx, `UPDATE events SET message = 'x'`); err == nil {
		t.Error("events are not append-only on the copy")
	}
	if _, err := src.CopyToPostgres(ctx, dst); !errors.Is(err, ledger.ErrTargetNotEmpty) {
		t.Errorf("second copy: %v, want ErrTargetNotEmpty", err)
	}
}

// A table the target does not have is an error naming it, never skipped,
// and the target stays empty.
func TestCopyToPostgresUnknownTable(t *testing.T) {
	ctx := context.Background()
	src, path := openTemp(t)
	beginRun(t, src)
	if _, err := rawDB(t, path).ExecContext(ctx, `CREATE TABLE payslips (id INTEGER PRIMARY KEY, note TEXT)`); err != nil {
		t.Fatal(err)
	}
	dst := openAt(t, pgtest.URL(t))
	_, err := src.CopyToPostgres(ctx, dst)
	if !errors.Is(err, ledger.ErrSchemaMismatch) || !strings.Contains(err.Error(), "payslips") {
		t.Fatalf("copy with an unknown table: %v, want ErrSchemaMismatch naming payslips", err)
	}
	if runs, err := dst.Runs(ctx); err != nil || len(runs) != 0 {
		t.Errorf("target after the refused copy: %d runs (%v)", len(runs), err)
	}
}
