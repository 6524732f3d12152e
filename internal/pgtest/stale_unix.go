//go:build unix

package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// removeStale stops and removes the clusters of test binaries that died
// without reaching Main's cleanup (a panic, a -timeout, a kill): their
// folder names their pid.
func removeStale(bin, parent string) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, "payrun-pgtest-*"))
	for _, d := range dirs {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), "payrun-pgtest-"), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			continue
		}
		c := &localCluster{bin: bin, dir: d}
		if fi, err := os.Stat(d); err == nil && os.Geteuid() == 0 {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
				c.asUser = "nobody"
			}
		}
		c.stop()
	}
}
