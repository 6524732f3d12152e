// Package faultpoint names the boundaries of a payment row's life (before and
// after each money-moving call, after each durable ledger transition) so a
// torture driver can kill the process at exactly one of them and prove that
// the next run neither loses nor repeats a payment.
//
// It is compiled into every build and inert unless enabled: Hit costs one
// atomic load when nothing is configured. Two environment variables, read
// once at start-up, enable it:
//
//	PAYRUN_FAULTPOINT=name@N        SIGKILL this process at the Nth Hit(name)
//	PAYRUN_FAULTPOINT=*@N           SIGKILL at the Nth boundary of any name
//	PAYRUN_FAULTPOINT_COUNT=FILE    append every hit's name to FILE, one a line
//
// The kill is SIGKILL sent to the process itself: no deferred function, no
// ledger Close, no buffered write runs, exactly like a crash or an OOM kill.
// Windows has no signals; there the process terminates itself
// (TerminateProcess) with exit status KilledExitCode, which is as abrupt.
// Tests inside one process use SetHook instead.
package faultpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Environment variables that enable fault points.
const (
	// EnvKill names the point and hit number at which to SIGKILL: "name@N"
	// or "*@N".
	EnvKill = "PAYRUN_FAULTPOINT"
	// EnvCount names a file every hit's name is appended to.
	EnvCount = "PAYRUN_FAULTPOINT_COUNT"
)

// Any matches every point name in a kill spec ("*@N").
const Any = "*"

// KilledExitCode is the exit status of a process killed at a fault point on
// a system without signals (Windows): 128+9, what a shell shows for SIGKILL.
// On unix the process dies of SIGKILL itself and has no exit status.
const KilledExitCode = 137

var (
	enabled atomic.Bool // the only thing Hit reads when disabled

	mu        sync.Mutex
	killName  string // "" when no kill is armed
	killAt    int64
	seen      int64 // hits matching killName so far
	countFile *os.File
	hook      func(name string)
)

func init() {
	if err := configure(os.Getenv(EnvKill), os.Getenv(EnvCount)); err != nil {
		// A mistyped spec must not silently run a torture scenario
		// without its crash: say so loudly and refuse to go on.
		fmt.Fprintf(os.Stderr, "payrun: %v\n", err)
		os.Exit(2)
	}
}

// configure arms the kill spec and the count file; empty strings leave them
// off.
func configure(spec, count string) error {
	mu.Lock()
	defer mu.Unlock()
	if spec != "" {
		name, n, err := ParseSpec(spec)
		if err != nil {
			return err
		}
		killName, killAt, seen = name, n, 0
	}
	if count != "" {
		f, err := os.OpenFile(count, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("open %s file: %w", EnvCount, err)
		}
		countFile = f
	}
	refresh()
	return nil
}

// ParseSpec reads a kill spec "name@N" (or "*@N"), N >= 1.
func ParseSpec(spec string) (name string, n int64, err error) {
	i := strings.LastIndexByte(spec, '@')
	if i <= 0 {
		return "", 0, fmt.Errorf("parse %s %q: want name@N", EnvKill, spec)
	}
	n, err = strconv.ParseInt(spec[i+1:], 10, 64)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("parse %s %q: N must be a positive integer", EnvKill, spec)
	}
	return spec[:i], n, nil
}

// refresh recomputes enabled; mu is held.
func refresh() { enabled.Store(killName != "" || countFile != nil || hook != nil) }

// Enabled reports whether any fault point is armed (a kill spec, a count file
// or a hook). Callers that must build a name can skip the work when not.
func Enabled() bool { return enabled.Load() }

// Hit marks that the process reached boundary name. Disabled, it does
// nothing but one atomic load.
func Hit(name string) {
	if !enabled.Load() {
		return
	}
	hit(name)
}

// Hit2 is Hit(prefix+suffix) without building the string when disabled.
func Hit2(prefix, suffix string) {
	if !enabled.Load() {
		return
	}
	hit(prefix + suffix)
}

func hit(name string) {
	mu.Lock()
	if countFile != nil {
		// One write per line, O_APPEND: the lines of a killed process are
		// whole up to the one before the kill.
		_, _ = countFile.WriteString(name + "\n")
	}
	kill := false
	if killName != "" && (killName == Any || killName == name) {
		seen++
		kill = seen == killAt
	}
	h := hook
	mu.Unlock()
	if kill {
		killSelf()
	}
	if h != nil {
		h(name)
	}
}

// SetHook installs fn to be called (outside any lock, on the hitting
// goroutine) at every hit, for tests that simulate a crash inside one
// process; nil removes it. It returns a function restoring the previous hook.
func SetHook(fn func(name string)) (restore func()) {
	mu.Lock()
	prev := hook
	hook = fn
	refresh()
	mu.Unlock()
	return func() {
		mu.Lock()
		hook = prev
		refresh()
		mu.Unlock()
	}
}
