//go:build !unix

package main

import "time"

// processCPU cannot be read where getrusage(2) does not exist (Windows);
// tests bounded by CPU time skip there rather than pass on a 0.
func processCPU() (time.Duration, bool) { return 0, false }
