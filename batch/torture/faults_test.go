package torture

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestTortureUnclearOutcomes runs 500 rows (short: 100) with 8 workers
// against a sandbox that loses 20% of answers after applying the request,
// fails 10% with 5xx, rate-limits and jitters: the invariant holds, no row
// is FAILED for a call MassPay applied, and no unknown outcome is retried
// under a new Idempotency-Key.
func TestTortureUnclearOutcomes(t *testing.T) {
	n := 100
	if full() {
		n = 500
	}
	for _, seed := range []int64{1, 2} {
		dir := t.TempDir()
		sb := startSandbox(t, seed, "--lost-response-rate", "0.2", "--error-rate", "0.1", "--rate-limit", "400",
			"--latency", "1ms", "--latency-jitter", "4ms")
		tag := fmt.Sprintf("uo%d", seed)
		sh := writeSheet(t, filepath.Join(dir, tag+".csv"), tag, mixN(n))
		o := runOpts{sheet: sh.path, ledger: filepath.Join(dir, tag+".db"), out: filepath.Join(dir, tag+".xlsx"),
			baseURL: sb.url, workers: 8}
		runs := resumeUntilDone(t, sh, o, 10)
		v := checkInvariant(sh, ledgerRows(t, o.ledger), sb.audit(t), o.out)
		unknowns := checkKeys(&v, o.ledger)
		t.Logf("seed %d: %d rows final after %d runs; %d outcomes the runner saw as unknown (after the client's own retries)", seed, n, runs, unknowns)
		judge(t, "unclear-outcomes", fmt.Sprintf("sandbox --seed %d, %d rows (go test -run TortureUnclearOutcomes)", seed, n), v)
	}
}
