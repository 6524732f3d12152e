package ledger_test

import (
	"context"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// TestPayeeRouteCache: a route is read back by its whole key (another
// delivery type is another entry), a second put replaces it, and a forgotten
// entry is gone.
func TestPayeeRouteCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		l, _ := b.openTemp(t)
		k := ledger.PayeeRouteKey{InternalUserID: "u-1", Country: "USA", Currency: "USD", DeliveryType: "BANK_DEPOSIT"}
		if _, ok, err := l.PayeeRoute(ctx, k); ok || err != nil {
			t.Fatalf("empty cache: ok %v, err %v", ok, err)
		}
		pr := ledger.PayeeRoute{PayeeRouteKey: k, UserToken: "usr_1", DestinationToken: "dst_1", AttrSetToken: "attr_set_1",
			PayerName: "Bank Deposit", Fingerprint: "f1"}
		if err := l.PutPayeeRoute(ctx, pr); err != nil {
			t.Fatal(err)
		}
		pr.AttrSetToken, pr.Fingerprint = "attr_set_2", "f2"
		if err := l.PutPayeeRoute(ctx, pr); err != nil {
			t.Fatal(err)
		}
		got, ok, err := l.PayeeRoute(ctx, k)
		if err != nil || !ok || got != pr {
			t.Fatalf("got %+v, %v, %v; want %+v", got, ok, err, pr)
		}
		other := k
		other.DeliveryType = ""
		if _, ok, _ := l.PayeeRoute(ctx, other); ok {
			t.Error("an empty delivery type found the BANK_DEPOSIT entry")
		}
		if err := l.ForgetPayeeRoute(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := l.PayeeRoute(ctx, k); ok {
			t.Error("forgotten entry still there")
		}
	})
}
