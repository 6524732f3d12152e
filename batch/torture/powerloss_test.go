package torture

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// TestTorturePowerLoss shows the intent the runner acts on is durable
// before the call it announces: the process is SIGKILLed right before each
// money-moving call, and the reopened ledger already holds the intent state
// and its Idempotency-Key, while MassPay has not seen the call. With WAL
// and synchronous=FULL, SQLite fsyncs the WAL on every COMMIT, so what a
// killed process left on disk is also what survives an OS crash or power
// loss (https://www.sqlite.org/pragma.html#pragma_synchronous); the file
// header check below pins WAL, and ledger.Open refuses to run unless the
// connection reports synchronous=FULL.
func TestTorturePowerLoss(t *testing.T) {
	for _, c := range []struct {
		point  string
		kinds  []kind
		intent ledger.State
	}{
		{"api.load.before@1", []kind{kLoad}, ledger.StateLoadSent},
		{"api.initiate.before@1", []kind{kBankUSA}, ledger.StateInitiating},
		{"api.commit.before@1", []kind{kBankUSA}, ledger.StateCommitting},
	} {
		t.Run(c.point, func(t *testing.T) {
			dir := t.TempDir()
			sb := startSandbox(t, 9)
			sh := writeSheet(t, filepath.Join(dir, "p.csv"), "pl", c.kinds)
			o := runOpts{sheet: sh.path, ledger: filepath.Join(dir, "p.db"), out: filepath.Join(dir, "p.xlsx"),
				baseURL: sb.url, workers: 1, faultpoint: c.point}
			if res := runPayrun(t, o); !res.killed {
				t.Fatalf("not killed at %s", c.point)
			}
			hdr := make([]byte, 20)
			f, err := os.Open(o.ledger)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.Read(hdr)
			f.Close()
			// Bytes 18 and 19 of the database header are 2 in WAL mode.
			if !bytes.HasPrefix(hdr, []byte("SQLite format 3\x00")) || hdr[18] != 2 || hdr[19] != 2 {
				t.Fatalf("ledger is not in WAL mode: header % x", hdr)
			}
			r := ledgerRows(t, o.ledger)["pl-00001"]
			var v verdict
			if r.State != c.intent {
				v.addf("after a kill right before the call, ledger state %s, want the intent %s", r.State, c.intent)
			}
			// The exact request is durable with its intent: the resume
			// sends these bytes, not a body rebuilt from the sheet.
			key := map[ledger.State]string{ledger.StateLoadSent: r.LoadKey(), ledger.StateInitiating: r.PayoutKey(),
				ledger.StateCommitting: r.CommitKey()}[c.intent]
			if q, err := recordedRequest(o.ledger, r.ID, key); err != nil {
				v.addf("no request recorded with the intent under %s: %v", key, err)
			} else if (c.intent == ledger.StateCommitting) != (q.Body == nil) {
				v.addf("request under %s has body %q", key, q.Body)
			}
			a := sb.audit(t)
			for _, p := range a.Payouts {
				if p.ClientTransferID == r.ID && p.Committed {
					v.addf("MassPay committed %s although the process died before sending the commit", r.ID)
				}
			}
			if c.intent == ledger.StateLoadSent && len(a.Loads) != 0 {
				v.addf("MassPay has a load although the process died before sending it")
			}
			resumeUntilDone(t, sh, o, 3)
			w := checkInvariant(sh, ledgerRows(t, o.ledger), sb.audit(t), o.out)
			v.problems = append(v.problems, w.problems...)
			v.doubles, v.stuck = w.doubles, w.stuck
			judge(t, "durable-intent", "go test -run 'TorturePowerLoss/"+c.point+"'", v)
		})
	}
}

// recordedRequest reads the request the ledger at path recorded for row id
// under key.
func recordedRequest(path, id, key string) (ledger.Request, error) {
	l, err := ledger.Open(context.Background(), path, ledger.Options{ReadOnly: true})
	if err != nil {
		return ledger.Request{}, err
	}
	defer l.Close()
	return l.Request(context.Background(), id, key)
}
