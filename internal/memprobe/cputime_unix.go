//go:build unix

package memprobe

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time this process has used, user and system, all
// threads; ok is false when getrusage(2) failed.
func ProcessCPU() (cpu time.Duration, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
