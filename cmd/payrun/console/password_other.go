//go:build !linux

package console

import "os"

// echoOff cannot turn echo off on this system; the caller warns.
func echoOff(*os.File) (restore func(), ok bool) { return func() {}, false }
