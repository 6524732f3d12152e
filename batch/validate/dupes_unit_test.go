package validate

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/payrun/payrun/batch/sheet"
)

// TestResolveDupesFileChanged: a second read that finds other rows is an
// error, never a wrong report.
func TestResolveDupesFileChanged(t *testing.T) {
	defer func(k int) { exactDupKeys = k }(exactDupKeys)
	exactDupKeys = 1
	v := NewValidator("s", nil, ValidateOptions{Now: time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)})
	v.dupes.bounded = true
	var ps []sheet.Problem
	rows := []sheet.Row{{Line: 2, ClientTransferID: "A"}, {Line: 3, ClientTransferID: "A"}}
	for _, r := range rows {
		ps = v.CheckAppend(ps, r)
	}
	_, err := v.ResolveDuplicates(ps, func(visit func(sheet.Row)) error {
		visit(rows[0])
		return nil
	})
	if !errors.Is(err, ErrFileChanged) {
		t.Errorf("err = %v, want errFileChanged", err)
	}
}

// TestBloomFilterRate: at a million keys, the size ValidateFile uses is
// almost never wrong, and never wrong about a key it has seen.
func TestBloomFilterRate(t *testing.T) {
	const n = 1_000_000
	f := newBloomFilter(8 << 20)
	rng := rand.New(rand.NewPCG(1, 1))
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = rng.Uint64()
		f.testAndAdd(keys[i])
	}
	for _, k := range keys[:1000] {
		if !f.testAndAdd(k) {
			t.Fatal("a key added is reported unseen")
		}
	}
	wrong := 0
	for range n {
		wrong += bit(f.testAndAdd(rng.Uint64()))
	}
	// Expected: none; about one in a million as the test's own keys fill
	// the filter to two million (32 bits a key).
	if wrong > 2 {
		t.Errorf("%d of %d new keys reported seen", wrong, n)
	}
	t.Logf("false positives: %d in %d", wrong, n)
}

// bit is 1 for true.
func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}
