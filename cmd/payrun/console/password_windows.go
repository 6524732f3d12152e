//go:build windows

package console

import (
	"os"

	"golang.org/x/sys/windows"
)

// echoOff turns off echo on the console f and returns how to turn it back
// on, so a typed password is not shown. Line input stays on: the password
// is still read up to Enter, with backspace working.
func echoOff(f *os.File) (restore func(), ok bool) {
	h := windows.Handle(f.Fd())
	var old uint32
	if err := windows.GetConsoleMode(h, &old); err != nil {
		return func() {}, false
	}
	mode := old&^windows.ENABLE_ECHO_INPUT | windows.ENABLE_LINE_INPUT | windows.ENABLE_PROCESSED_INPUT
	if err := windows.SetConsoleMode(h, mode); err != nil {
		return func() {}, false
	}
	return func() { windows.SetConsoleMode(h, old) }, true
}
