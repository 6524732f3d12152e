package console

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRerunRunsPageAndPlanPage: a sheet paid, then paid again from the same
// approved plan. The runs page must show run 2 paying 0.00 USD, so adding
// up the page does not count 425.75 USD twice; once every row is settled
// the plan page says so and offers no Pay button (issue 20, finding 3).
func TestRerunRunsPageAndPlanPage(t *testing.T) {
	e := newEnv(t)
	alice, plan := approvedPlan(e, smallSheet("again"))
	for range 2 {
		resp, body := alice.post(plan+"/run", nil)
		for tries := 0; resp.StatusCode == http.StatusConflict && strings.Contains(body, "A run is in progress") && tries < 100; tries++ {
			time.Sleep(50 * time.Millisecond) // run 1 is writing its results
			resp, body = alice.post(plan+"/run", nil)
		}
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("run = %d\n%s", resp.StatusCode, body)
		}
		waitRun(t, alice, resp.Header.Get("Location"))
	}
	_, runs := alice.get("/runs")
	// Run 1 loaded 350.50 USD (the third payee is on a compliance hold).
	if n := strings.Count(runs, "<td>350.50 USD"); n != 1 {
		t.Errorf("the runs page shows 350.50 USD paid %d times, want once (run 1 only)\n%s", n, runs)
	}
	if !strings.Contains(runs, "<td>0.00 USD") || !strings.Contains(runs, "already paid earlier: 2 rows") {
		t.Errorf("run 2 does not show 0.00 USD paid and what run 1 had paid\n%s", runs)
	}

	// A sheet with nothing left to pay: no Pay button, and it says why.
	e2 := newEnv(t)
	sheet := []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\n" +
		"S-1,su-1,Ana,Silva,ana@example.com,USA,100.00\nS-2,su-2,Ben,Okafor,ben@example.com,USA,250.50\n")
	alice2, plan2 := approvedPlan(e2, sheet)
	resp, body := alice2.post(plan2+"/run", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("run = %d\n%s", resp.StatusCode, body)
	}
	waitRun(t, alice2, resp.Header.Get("Location"))
	code, page := alice2.get(plan2)
	if code != http.StatusOK || strings.Contains(page, `id="run"`) || !strings.Contains(page, "Nothing left to pay") {
		t.Errorf("plan page of a settled sheet = %d: want no Pay button and \"Nothing left to pay\"\n%s", code, page)
	}
}
