package ledger_test

import (
	"bytes"
	"context"
	"errors"
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
	url := pgtest.URL(t)
	dst := openAt(t, url)
	rep, err := src.CopyToPostgres(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, c := range rep.Tables {
		counts[c.Table] = c.Rows
	}
	if counts["runs"] != 2 || counts["rows"] != 3 || counts["run_rows"] != 6 || counts["events"] == 0 {
		t.Errorf("counts %v", counts)
	}
	for _, want := range []string{"plans", "console_users", "console_sessions", "alerts", "payee_routes", "archived_runs", "requests"} {
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
	if _, err := rawDB(t, url).ExecContext(ctx, `UPDATE events SET message = 'x'`); err == nil {
		t.Error("events are not append-only on the copy")
	}
	if _, err := src.CopyToPostgres(ctx, dst); !errors.Is(err, ledger.ErrTargetNotEmpty) {
		t.Errorf("second copy: %v, want ErrTargetNotEmpty", err)
	}
}
