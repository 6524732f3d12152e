package sandbox

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// BenchmarkLoopbackLoads measures loads per second over real HTTP on
// loopback, each with its own Idempotency-Key.
func BenchmarkLoopbackLoads(b *testing.B) {
	srv, err := Start(Config{APIKey: "k"})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.mu.Lock()
	u := &user{}
	u.UserToken, u.Status = "usr_bench", "ACTIVE"
	srv.users[u.UserToken] = u
	usd := srv.balances["USD"].token
	srv.mu.Unlock()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("b-%d", n.Add(1))
			req, _ := http.NewRequest("POST", srv.URL()+"/load/usr_bench",
				strings.NewReader(`{"client_load_id":"`+id+`","source_token":"`+usd+`","amount":1}`))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("Idempotency-Key", id)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
