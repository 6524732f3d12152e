//go:build !unix

package ledger

import "os"

// processAlive reports whether process pid still exists. On Windows
// os.FindProcess opens the process and fails when there is none.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
