//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd || windows)

package console

import "os"

// echoOff cannot turn echo off on this system; ReadPassword then marks the
// prompt "(visible)" so the user knows the password will show.
func echoOff(*os.File) (restore func(), ok bool) { return func() {}, false }
