package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
)

// An alert is sent once; a failed send is tried again; a claim a crash left
// unrecorded is sent once more after it goes stale, and never a third time.
func TestClaimAlertOnceAndCrashResendsAtMostOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		c := ledger.AlertClaim{Key: "run:1", Channel: "email", Kind: "run", Recipients: "ops@example.com", StaleAfter: time.Hour}
		claim := func(want bool, what string) {
			t.Helper()
			got, err := l.ClaimAlert(ctx, c)
			if err != nil || got != want {
				t.Fatalf("%s: ClaimAlert = %v, %v; want %v", what, got, err, want)
			}
		}
		claim(true, "first")
		claim(false, "while another sends it")
		if err := l.FinishAlert(ctx, c.Key, c.Channel, errors.New("smtp down")); err != nil {
			t.Fatal(err)
		}
		claim(true, "after a failure")
		if err := l.FinishAlert(ctx, c.Key, c.Channel, nil); err != nil {
			t.Fatal(err)
		}
		claim(false, "after it was sent")

		// A crash: claimed, never finished.
		k := ledger.AlertClaim{Key: "flip:x", Channel: "webhook", Kind: "flip", ClientTransferID: "", StaleAfter: time.Hour}
		if ok, _ := l.ClaimAlert(ctx, k); !ok {
			t.Fatal("first claim refused")
		}
		if ok, _ := l.ClaimAlert(ctx, k); ok {
			t.Fatal("a fresh claim of another sender was taken over")
		}
		k.StaleAfter = 0 // the claim is now stale: the sender crashed
		if ok, _ := l.ClaimAlert(ctx, k); !ok {
			t.Fatal("a stale claim was not sent once more")
		}
		if ok, _ := l.ClaimAlert(ctx, k); ok {
			t.Fatal("a stale claim was sent a third time")
		}
	})
}
