package ledger_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/ledger"
)

func TestBackupIsAConsistentPrivateCopy(t *testing.T) {
	ctx := context.Background()
	l, _ := openTemp(t)
	run := beginRun(t, l)
	upsert(t, l, run.ID, input("a", 2, "10.00"), input("b", 3, "1.50"))
	walk(t, l, "a", ledger.StatePaid)
	dest := filepath.Join(t.TempDir(), "backup.ledger")
	if err := os.WriteFile(dest, []byte("old backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	if err := l.Backup(ctx, l.Path()); err == nil {
		t.Error("backup over the ledger itself accepted")
	}
	fi, err := os.Stat(dest)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v", fi, err)
	}
	b, err := ledger.Open(ctx, dest, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	row, err := b.Row(ctx, "a")
	if err != nil || row.State != ledger.StatePaid {
		t.Errorf("backup row = %+v, %v", row, err)
	}
	var check string
	if err := rawDB(t, dest).QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dest))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	l, _ := openTemp(t)
	run := beginRun(t, l)
	upsert(t, l, run.ID, input("a", 2, "10.00"), input("b", 3, "1.50"))
	walk(t, l, "a", ledger.StatePaid)
	upsert(t, l, beginRun(t, l).ID, input("a", 2, "11.00")) // a conflict

	var buf bytes.Buffer
	if err := l.ExportJSONL(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	tables := map[string]int{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		tables[rec["table"].(string)]++
		if rec["table"] == "rows" && rec["client_transfer_id"] == "b" && rec["amount"] != "1.50" {
			t.Errorf("row b amount = %v", rec["amount"])
		}
	}
	// 2 runs, 2 rows (both run 1's), 1 conflict, 2 ingest + 4 transition
	// + 1 conflict events.
	if tables["runs"] != 2 || tables["rows"] != 2 || tables["run_rows"] != 2 || tables["conflicts"] != 1 || tables["events"] != 7 {
		t.Errorf("JSONL records per table = %v", tables)
	}
	buf.Reset()
	if err := l.ExportCSV(ctx, &buf, ledger.TableRows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 3 || recs[0][0] != "client_transfer_id" || recs[1][0] != "a" || recs[1][12] != "PAID" {
		t.Errorf("CSV = %v, %v", recs, err)
	}
	if err := l.ExportCSV(ctx, &buf, "nope"); err == nil {
		t.Error("unknown table accepted")
	}
}
