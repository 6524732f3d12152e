package batch

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/masspay"
	"github.com/payrun/payrun/masspay/sandbox"
)

// Two runners on one PostgreSQL ledger (issue 22) can both miss a payee in
// the user cache and at MassPay, then both create it under the one key
// "user:<internal_user_id>" for two rows of that payee with other details
// (a country, an address). The second create is refused as
// IDEMPOTENCY_KEY_REUSED: the payee exists, another runner made it. Found
// by the postgres-two-runners torture family, where such a load row ended
// NEEDS_ACTION "Internal error" with nothing paid. The runner looks the
// payee up and goes on; no money had moved, none moves twice.
func TestPayeeCreatedMeanwhileUnderTheSameKey(t *testing.T) {
	g, p := newHostileRig(t, rigOptions{})
	line := loadLine("RACE-LOAD", 1, "40.00")
	// The other runner, straight to MassPay: the same payee, created for
	// another row of theirs with another country.
	other, err := masspay.New(masspay.Config{BaseURL: g.srv.URL(), APIKey: sandbox.DefaultAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	p.setRule(func(r *http.Request, body []byte, forward func() proxied) (proxied, bool) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/user/lookup") {
			return proxied{}, false
		}
		ans := forward() // not found yet
		once.Do(func() {
			if _, err := other.CreateUser(g.ctx, ledger.UserKey(line.user), masspay.User{Profile: masspay.Profile{
				InternalUserID: line.user, Country: "PHL", FirstName: line.first, LastName: line.last, Email: line.email}}); err != nil {
				t.Errorf("the other runner's create: %v", err)
			}
		})
		return ans, true
	})
	runID := g.ingest(writeSheetCSV(t, g.dir, []sheetLine{line}))
	g.run(runID, 1)
	if row := must(g.led.Row(g.ctx, line.id))(t); row.State != ledger.StateLoaded {
		t.Fatalf("row %s (%s), want LOADED", row.State, row.LastError)
	}
	loadedRow(t, g, line.id, "40.00")
}
