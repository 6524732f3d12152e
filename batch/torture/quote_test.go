package torture

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// TestTortureQuoteWindow crashes a payout between initiate and commit,
// moves the sandbox clock 3 minutes (past the 2-minute quote), and resumes:
// a fresh quote, exactly one committed payout, the ledger on it.
func TestTortureQuoteWindow(t *testing.T) {
	for _, point := range []string{
		"ledger.transition.initiated@1",  // quote recorded, commit never announced
		"ledger.transition.committing@1", // commit announced, never sent
		"api.commit.before@1",            // about to send the commit
		"api.commit.after@1",             // commit applied at MassPay, answer never recorded
	} {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			sb := startSandbox(t, 5, "--manual-clock")
			sh := writeSheet(t, filepath.Join(dir, "q.csv"), "q", []kind{kBankUSA, kBTC})
			o := runOpts{sheet: sh.path, ledger: filepath.Join(dir, "q.db"), out: filepath.Join(dir, "q.xlsx"),
				baseURL: sb.url, workers: 1, faultpoint: point}
			if res := runPayrun(t, o); !res.killed {
				t.Fatalf("not killed at %s: exit %d\n%s", point, res.code, lastLines(res.output, 10))
			}
			sb.admin(t, "POST", "/_sandbox/clock/advance?by=3m", nil)
			resumeUntilDone(t, sh, o, 4)
			rows := ledgerRows(t, o.ledger)
			a := sb.audit(t)
			v := checkInvariant(sh, rows, a, o.out)
			id := "q-00001"
			r := rows[id]
			var quotes, committed int
			for _, p := range a.Payouts {
				if p.ClientTransferID == id {
					quotes++
					if p.Committed {
						committed++
					}
				}
			}
			applied := point == "api.commit.after@1"
			switch {
			case committed != 1:
				v.addf("%s: %d committed payouts, want exactly 1", id, committed)
			case applied && (quotes != 1 || r.QuoteSeq != 1):
				// The commit went through before the crash: the resume must
				// adopt it (same key replays), not take a fresh quote.
				v.addf("%s: commit applied before the crash, yet %d quotes, quote_seq %d", id, quotes, r.QuoteSeq)
			case !applied && (quotes != 2 || r.QuoteSeq != 2 || r.State != ledger.StatePaid):
				v.addf("%s: want a fresh quote after expiry (2 quotes, quote_seq 2, PAID), got %d quotes, quote_seq %d, %s",
					id, quotes, r.QuoteSeq, r.State)
			}
			judge(t, "quote-window", fmt.Sprintf("go test -run 'TortureQuoteWindow/%s'", point), v)
		})
	}
}
