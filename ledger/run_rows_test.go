package ledger_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// runRows reads run runID's rows (0: all) as "id@line:state" in the order
// Rows yields them.
func runRows(t testing.TB, l *ledger.Ledger, runID int64, states ...ledger.State) []string {
	t.Helper()
	var out []string
	for r, err := range l.Rows(context.Background(), ledger.RowFilter{RunID: runID, States: states}) {
		if err != nil {
			t.Fatalf("Rows(run %d): %v", runID, err)
		}
		out = append(out, fmt.Sprintf("%s@%d:%s", r.ID, r.Line, r.State))
	}
	return out
}

func counts(t testing.TB, l *ledger.Ledger, runID int64) map[ledger.State]int {
	t.Helper()
	c, err := l.Counts(context.Background(), runID)
	if err != nil {
		t.Fatalf("Counts(run %d): %v", runID, err)
	}
	return c
}

// TestRunKeepsItsRowsAfterALaterRun: a later run re-ingesting some of a
// run's ids (month two, a re-run, a corrected sheet) leaves the earlier run
// with every row of its sheet, at its own lines, each in its current state.
func TestRunKeepsItsRowsAfterALaterRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		run1 := beginRun(t, l)
		bad := input("e", 5, "5.00")
		bad.Invalid = "amount has 3 decimals"
		upsert(t, l, run1.ID, input("a", 2, "10.00"), input("b", 3, "20.00"), input("c", 4, "30.00"), bad)
		walk(t, l, "a", ledger.StatePaid)
		walk(t, l, "b", ledger.StateNeedsAction)

		run2 := beginRun(t, l)
		res := upsert(t, l, run2.ID,
			input("d", 2, "40.00"), // new
			input("c", 3, "30.00"), // re-seen unchanged
			input("b", 4, "21.00"), // NEEDS_ACTION, corrected: replaced
			input("e", 5, "5.50"),  // INVALID, corrected: replaced
			input("a", 6, "99.00"), // paid in run 1, other content: conflict
			input("f", 7, "60.00")) // new
		if res.Inserted != 2 || res.Existing != 1 || res.Replaced != 2 || res.Conflicts != 1 {
			t.Fatalf("run 2 upsert = %+v", res)
		}
		walk(t, l, "c", ledger.StatePaid) // paid by run 2

		want1 := []string{"a@2:PAID", "b@3:new", "c@4:PAID", "e@5:new"}
		if got := runRows(t, l, run1.ID); !slices.Equal(got, want1) {
			t.Errorf("run 1 rows = %v, want %v", got, want1)
		}
		want2 := []string{"d@2:new", "c@3:PAID", "b@4:new", "e@5:new", "f@7:new"}
		if got := runRows(t, l, run2.ID); !slices.Equal(got, want2) {
			t.Errorf("run 2 rows = %v, want %v", got, want2)
		}
		if got, want := counts(t, l, run1.ID), map[ledger.State]int{ledger.StatePaid: 2, ledger.StateNew: 2}; !maps.Equal(got, want) {
			t.Errorf("Counts(run 1) = %v, want %v", got, want)
		}
		if got, want := counts(t, l, run2.ID), map[ledger.State]int{ledger.StatePaid: 1, ledger.StateNew: 4, ledger.StateConflict: 1}; !maps.Equal(got, want) {
			t.Errorf("Counts(run 2) = %v, want %v", got, want)
		}
		// The whole ledger is unchanged: one record per id, at its latest line.
		wantAll := []string{"a@2:PAID", "d@2:new", "c@3:PAID", "b@4:new", "e@5:new", "f@7:new"}
		if got := runRows(t, l, 0); !slices.Equal(got, wantAll) {
			t.Errorf("all rows = %v, want %v", got, wantAll)
		}
		if got, want := counts(t, l, 0), map[ledger.State]int{ledger.StatePaid: 2, ledger.StateNew: 4, ledger.StateConflict: 1}; !maps.Equal(got, want) {
			t.Errorf("Counts(0) = %v, want %v", got, want)
		}
		// States filter within a run, and RowsToWork of the earlier run.
		if got, want := runRows(t, l, run1.ID, ledger.StatePaid), []string{"a@2:PAID", "c@4:PAID"}; !slices.Equal(got, want) {
			t.Errorf("run 1 PAID rows = %v, want %v", got, want)
		}
		var work []string
		for r, err := range l.RowsToWork(ctx, run1.ID) {
			if err != nil {
				t.Fatal(err)
			}
			work = append(work, r.ID)
		}
		if want := []string{"b", "e"}; !slices.Equal(work, want) {
			t.Errorf("RowsToWork(run 1) = %v, want %v", work, want)
		}
		for _, tc := range []struct {
			run  int64
			id   string
			want bool
		}{{run1.ID, "c", true}, {run2.ID, "c", true}, {run1.ID, "d", false}, {run2.ID, "a", false}, {run1.ID, "zz", false}} {
			if got, err := l.InRun(ctx, tc.run, tc.id); err != nil || got != tc.want {
				t.Errorf("InRun(%d, %s) = %v, %v; want %v", tc.run, tc.id, got, err, tc.want)
			}
		}
		// The row itself still says where it was last seen.
		if r, _ := l.Row(ctx, "c"); r.FirstRunID != run1.ID || r.LastRunID != run2.ID || r.Line != 3 {
			t.Errorf("Row(c) = first %d last %d line %d", r.FirstRunID, r.LastRunID, r.Line)
		}
	})
}

// TestRunRowsOverlapBriefCase is the plain case: run 1 a,b,c; run 2 b,c,d.
func TestRunRowsOverlapBriefCase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l, _ := b.openTemp(t)
		run1 := beginRun(t, l)
		upsert(t, l, run1.ID, input("a", 2, "1.00"), input("b", 3, "2.00"), input("c", 4, "3.00"))
		run2 := beginRun(t, l)
		upsert(t, l, run2.ID, input("b", 2, "2.00"), input("c", 3, "3.00"), input("d", 4, "4.00"))
		for _, tc := range []struct {
			run  int64
			want []string
		}{{run1.ID, []string{"a@2:new", "b@3:new", "c@4:new"}}, {run2.ID, []string{"b@2:new", "c@3:new", "d@4:new"}}} {
			if got := runRows(t, l, tc.run); !slices.Equal(got, tc.want) {
				t.Errorf("run %d rows = %v, want %v", tc.run, got, tc.want)
			}
			if got := counts(t, l, tc.run); len(got) != 1 || got[ledger.StateNew] != 3 {
				t.Errorf("Counts(run %d) = %v, want 3 new", tc.run, got)
			}
		}
	})
}

// TestRunRowsReingestIsHarmless: ingesting the same rows into the same run
// again (a chunk repeated after a crash) adds no second membership, and the
// same id twice in one sheet is one row at its later line, as before.
func TestRunRowsReingestIsHarmless(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l, _ := b.openTemp(t)
		run := beginRun(t, l)
		in := []ledger.RowInput{input("a", 2, "1.00"), input("b", 3, "2.00")}
		upsert(t, l, run.ID, in...)
		upsert(t, l, run.ID, in...)
		upsert(t, l, run.ID, input("a", 9, "1.00"))
		if got, want := runRows(t, l, run.ID), []string{"b@3:new", "a@9:new"}; !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
		if got := counts(t, l, run.ID); got[ledger.StateNew] != 2 {
			t.Errorf("Counts = %v, want 2 new", got)
		}
	})
}

// TestRunRowsPagesInRunOrder: more than a page of rows in run 1, some of
// them re-ingested by run 2 in another order; run 1 still reads every one of
// its rows once, in its own sheet order, across pages whose boundary splits
// two ids on one line.
func TestRunRowsPagesInRunOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l, _ := b.openTemp(t)
		const n = 1010
		run1 := beginRun(t, l)
		var in1, in2 []ledger.RowInput
		for i := range n {
			// Two ids a line after the first, so rows 1000 and 1001 share one.
			in1 = append(in1, input(fmt.Sprintf("r%04d", i), 2+(i+1)/2, "1.00"))
		}
		upsert(t, l, run1.ID, in1...)
		run2 := beginRun(t, l)
		// Run 2 holds 300 of the ids around the page boundary, last first, and
		// 10 new ones.
		for i := 1149; i >= 850; i-- {
			if i < n {
				in2 = append(in2, input(fmt.Sprintf("r%04d", i), 2+(1149-i), "1.00"))
			}
		}
		for i := range 10 {
			in2 = append(in2, input(fmt.Sprintf("s%04d", i), 1000+i, "1.00"))
		}
		upsert(t, l, run2.ID, in2...)

		check := func(run int64, in []ledger.RowInput) {
			t.Helper()
			// Sheet order: line, then id.
			in = slices.Clone(in)
			slices.SortFunc(in, func(a, b ledger.RowInput) int {
				if a.Line != b.Line {
					return a.Line - b.Line
				}
				return strings.Compare(a.ID, b.ID)
			})
			var want []string
			for _, r := range in {
				want = append(want, fmt.Sprintf("%s@%d:new", r.ID, r.Line))
			}
			got := runRows(t, l, run)
			if !slices.Equal(got, want) {
				t.Errorf("run %d: %d rows, want %d; first difference at %d", run, len(got), len(want), firstDiff(got, want))
			}
			if c := counts(t, l, run); c[ledger.StateNew] != len(in) {
				t.Errorf("Counts(run %d) = %v, want %d new", run, c, len(in))
			}
		}
		check(run1.ID, in1)
		check(run2.ID, in2)
		if got := runRows(t, l, 0); len(got) != n+10 {
			t.Errorf("all rows: %d, want %d", len(got), n+10)
		}
		// The export holds every membership once, past a page too.
		var buf bytes.Buffer
		if err := l.ExportCSV(context.Background(), &buf, ledger.TableRunRows); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range recs[1:] {
			seen[r[0]+"/"+r[1]] = true
		}
		if want := len(in1) + len(in2); len(recs) != want+1 || len(seen) != want || recs[0][0] != "run_id" {
			t.Errorf("run_rows export: %d records, %d distinct, header %q; want %d", len(recs)-1, len(seen), recs[0], want)
		}
	})
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestMigrationBackfillsRunRows opens a ledger written at schema 3 (before
// run_rows) and checks that every run gets back the rows it is known to
// have held: the latest run with its line, the first run, and runs in
// between that left events; a conflict event adds nothing.
func TestMigrationBackfillsRunRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v3.ledger")
	db := rawDB(t, path)
	if _, err := db.Exec("PRAGMA foreign_keys = ON"); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/000[123]_*.sql")
	if err != nil || len(files) != 3 {
		t.Fatalf("migrations 1-3: %v, %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("apply %s: %v", f, err)
		}
	}
	const at = "2026-03-01T00:00:00.000000000Z"
	stmts := []string{
		"PRAGMA user_version = 3",
		`INSERT INTO runs (id, sheet_name, sheet_sha256, started_at) VALUES
			(1, 'jan.csv', 'x', '` + at + `'), (2, 'jan.csv', 'x', '` + at + `'),
			(3, 'feb.csv', 'y', '` + at + `'), (4, 'mar.csv', 'z', '` + at + `')`,
		// a: run 1 only. b: runs 1, 2 (events only) and 3. c: runs 2 and 3.
		// d: run 3 only, with a conflicting sheet row in run 4.
		`INSERT INTO rows (client_transfer_id, first_run_id, last_run_id, sheet_line, fingerprint, state, created_at, updated_at) VALUES
			('a', 1, 1, 2, 'fa', 'PAID', '` + at + `', '` + at + `'),
			('b', 1, 3, 5, 'fb', 'PAID', '` + at + `', '` + at + `'),
			('c', 2, 3, 4, 'fc', 'NEEDS_ACTION', '` + at + `', '` + at + `'),
			('d', 3, 3, 2, 'fd', 'new', '` + at + `', '` + at + `')`,
		`INSERT INTO events (at, run_id, client_transfer_id, kind) VALUES
			('` + at + `', 1, 'b', 'ingest'),
			('` + at + `', 2, 'b', 'transition'),
			('` + at + `', 2, 'b', 'transition'),
			('` + at + `', 4, 'd', 'conflict'),
			('` + at + `', NULL, 'a', 'status'),
			('` + at + `', 4, NULL, 'run')`,
		`INSERT INTO conflicts (run_id, client_transfer_id, sheet_line, fingerprint, existing_fingerprint,
			existing_state, existing_run_id, recorded_at) VALUES (4, 'd', 3, 'fd2', 'fd', 'new', 3, '` + at + `')`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	db.Close()

	l := openAt(t, path) // migrates
	want := map[int64][]string{
		1: {"a@2:PAID", "b@5:PAID"},
		2: {"c@4:NEEDS_ACTION", "b@5:PAID"},
		3: {"d@2:new", "c@4:NEEDS_ACTION", "b@5:PAID"},
		4: nil,
	}
	for run, w := range want {
		if got := runRows(t, l, run); !slices.Equal(got, w) {
			t.Errorf("run %d rows = %v, want %v", run, got, w)
		}
	}
	if got := counts(t, l, 4); len(got) != 1 || got[ledger.StateConflict] != 1 {
		t.Errorf("Counts(run 4) = %v, want 1 CONFLICT", got)
	}
	var v int
	if err := rawDB(t, path).QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != ledger.SchemaVersion {
		t.Errorf("user_version = %d, %v; want %d", v, err, ledger.SchemaVersion)
	}
	// The migrated ledger goes on recording: run 5 re-ingests a.
	run5 := beginRun(t, l)
	a := input("a", 3, "1.00")
	a.Fingerprint = "fa"
	upsert(t, l, run5.ID, a)
	if got := runRows(t, l, 1); !slices.Equal(got, want[1]) {
		t.Errorf("run 1 rows after run 5 = %v, want %v", got, want[1])
	}
	if got, w := runRows(t, l, run5.ID), []string{"a@3:PAID"}; !slices.Equal(got, w) {
		t.Errorf("run 5 rows = %v, want %v", got, w)
	}
}
