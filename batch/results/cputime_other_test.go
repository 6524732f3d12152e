//go:build !unix

package results

import "time"

// processCPU is 0 where getrusage(2) does not exist (Windows): the memory
// benchmarks then report no CPU time rather than a wrong one.
func processCPU() time.Duration { return 0 }
