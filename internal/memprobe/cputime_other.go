//go:build !unix

package memprobe

import "time"

// ProcessCPU cannot be read where getrusage(2) does not exist (Windows): ok
// is false, and callers report no CPU time rather than a wrong one.
func ProcessCPU() (cpu time.Duration, ok bool) { return 0, false }
