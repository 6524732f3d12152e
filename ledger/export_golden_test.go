package ledger_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// TestExportCSVGolden pins the bytes of `payrun ledger export` in CSV for
// every table: header, quoting of sheet text with quotes, commas and line
// breaks, decimal text and RFC 3339 times. PAYRUN_UPDATE_GOLDEN=1 rewrites
// testdata/export/*.csv.
func TestExportCSVGolden(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		l, _ := be.openTemp(t)
		run := beginRun(t, l)
		b := input("b,\"q\"", 3, "1.50")
		b.Input = append(b.Input, ledger.Column{Header: "memo, \"x\"", Value: "=1+1\nsecond line"})
		upsert(t, l, run.ID, input("a", 2, "10.00"), b, input("c", 4, "0.000001"))
		walk(t, l, "a", ledger.StatePaid)
		upsert(t, l, beginRun(t, l).ID, input("a", 2, "11.00")) // a conflict
		for _, tb := range ledger.Tables {
			var buf bytes.Buffer
			if err := l.ExportCSV(ctx, &buf, tb); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "export", string(tb)+".csv")
			if os.Getenv("PAYRUN_UPDATE_GOLDEN") == "1" {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("ExportCSV(%s) differs from %s:\ngot:\n%q\nwant:\n%q", tb, golden, buf.Bytes(), want)
			}
		}
	})
}

// TestExportCSVBatches: a table longer than one gocsv batch arrives whole
// and in order.
func TestExportCSVBatches(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		l, _ := be.openTemp(t)
		run := beginRun(t, l)
		var in []ledger.RowInput
		for i := range 600 {
			in = append(in, input(fmt.Sprintf("r%04d", i), i+2, "1.00"))
		}
		upsert(t, l, run.ID, in...)
		var buf bytes.Buffer
		if err := l.ExportCSV(context.Background(), &buf, ledger.TableRows); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 601 {
			t.Fatalf("%d records, %v; want 601", len(recs), err)
		}
		for i, r := range recs[1:] {
			if r[0] != fmt.Sprintf("r%04d", i) || r[8] != "1.00" {
				t.Fatalf("record %d = %q", i+1, r[:9])
			}
		}
	})
}
