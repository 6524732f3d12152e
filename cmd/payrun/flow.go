package main

import (
	"net/http"

	"github.com/payrun/payrun/batch/flow"
	"github.com/payrun/payrun/masspay"
)

// defaultMaxWorkers bounds the adaptive window when neither --max-workers
// nor PAYRUN_MAX_WORKERS says otherwise.
const defaultMaxWorkers = 64

// runFlow returns the window over a run's rows in flight: pinned to workers
// when it is set (--workers, PAYRUN_WORKERS), else adaptive up to
// maxWorkers. observe feeds it every MassPay attempt; the client's
// Observer is set to it.
func runFlow(workers, maxWorkers int) (fl *flow.Limiter, observe func(masspay.Attempt)) {
	if workers > 0 {
		fl = flow.Fixed(workers, nil)
	} else {
		fl = flow.New(flow.Config{Max: maxWorkers})
	}
	return fl, func(a masspay.Attempt) {
		// The time the row waited for the client's token bucket counts:
		// rows queueing there are rows the window should not hold.
		fl.Observe(flow.Sample{Latency: a.Latency, Queued: a.Waited, Throttled: a.Status == http.StatusTooManyRequests})
	}
}
