//go:build !unix

package pgtest

// removeStale does nothing where clusters are not started as another user
// and processes are not probed by signal.
func removeStale(bin, parent string) {}
