package ingest

import (
	"fmt"
	"github.com/payrun/payrun/batch/validate"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// dupSheet writes a CSV whose duplicates fall before, across and after the
// point where a bounded validator switches to filters: ids used twice and
// three times, a payee paid the same amount twice, and rows with other
// mistakes beside their duplicates, so the order of problems on a row is
// tested too.
func dupSheet(t *testing.T, n int) string {
	rng := rand.New(rand.NewPCG(7, 11))
	lines := []string{strings.Join(ruleHeader, ",")}
	for i := 1; i <= n; i++ {
		row := goodRow(fmt.Sprintf("ID%04d", i))
		row["amount"] = fmt.Sprintf("%d.%02d", 10+i, i%100)
		switch {
		case i%37 == 0: // an id seen before, anywhere earlier
			row["client_transfer_id"] = fmt.Sprintf("ID%04d", 1+rng.IntN(i-1))
		case i%53 == 0: // the same payee and amount as an earlier row
			j := 1 + rng.IntN(i-1)
			row["internal_user_id"], row["email"] = "u-"+fmt.Sprintf("ID%04d", j), "ana."+strings.ToLower(fmt.Sprintf("ID%04d", j))+"@example.com"
			row["amount"] = fmt.Sprintf("%d.%02d", 10+j, j%100)
		case i%41 == 0:
			row["email"] = "not an email"
		}
		if i%89 == 0 {
			row["client_transfer_id"] = "ID0003" // the same id many times
			row["country"] = "Narnia"
		}
		cells := make([]string, len(ruleHeader))
		for k, h := range ruleHeader {
			cells[k] = row[h]
		}
		lines = append(lines, strings.Join(cells, ","))
	}
	return writeFile(t, "dupes.csv", csvText(lines...))
}

// TestBoundedDuplicatesAreExact: whatever the switch point and however often
// the filters are wrong, ValidateFile reports exactly what the in-memory
// validator reports for the same rows, in the same order.
func TestBoundedDuplicatesAreExact(t *testing.T) {
	path := dupSheet(t, 400)
	s := mustReadAll(t, path, IngestOptions{})
	want := validate.Validate(s.Rows, validate.ValidateOptions{Now: testNow})
	var dups, doubles int
	for _, p := range want {
		dups += b2i(p.Rule == "duplicate_id")
		doubles += b2i(p.Rule == "possible_double_entry")
	}
	if dups < 15 || doubles < 5 {
		t.Fatalf("the sheet has %d duplicate ids and %d double entries; the test needs more", dups, doubles)
	}
	for _, c := range []struct{ keys, filter int }{
		{1 << 16, 8 << 20}, // never switches
		{100, 8 << 20},     // switches after ~50 rows; filters all but exact
		{2, 8 << 20},       // switches at once
		{300, 32},          // one 32-byte block: nearly every row a false candidate
		{2, 64},
	} {
		restore := validate.SetDuplicateLimits(c.keys, c.filter)
		rep, err := ValidateFile(path, IngestOptions{}, validate.ValidateOptions{Now: testNow})
		restore()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(rep.Problems, want) {
			t.Errorf("keys %d filter %d: problems differ from the exact validator\ngot:\n%swant:\n%s", c.keys, c.filter, listProblems(rep.Problems), listProblems(want))
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
