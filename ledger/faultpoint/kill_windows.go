//go:build windows

package faultpoint

import (
	"os"

	"golang.org/x/sys/windows"
)

// killSelf terminates this process at once with KilledExitCode and never
// returns. TerminateProcess runs no deferred function, no atexit handler and
// no DLL detach: as abrupt as SIGKILL on unix.
func killSelf() {
	_ = windows.TerminateProcess(windows.CurrentProcess(), KilledExitCode)
	os.Exit(KilledExitCode) // should it fail: os.Exit runs no deferred function either
}
