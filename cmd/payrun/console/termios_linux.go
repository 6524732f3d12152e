package console

import "golang.org/x/sys/unix"

// The ioctls that read and set a terminal's modes: Linux names them TCGETS
// and TCSETS.
const (
	ioctlGetTermios = unix.TCGETS
	ioctlSetTermios = unix.TCSETS
)
