// Package memprobe measures what a benchmark costs: the peak live Go heap,
// the process's peak resident set and its CPU time. Only tests and
// benchmarks import it (batch/ingest, batch/results, cmd/payrun); it was
// copied into each of them before, since test files cannot be shared
// between packages. It imports nothing of payrun's.
package memprobe

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"
)

// Probe measures what a benchmark run costs in memory: the live Go heap,
// sampled, and the process's peak resident set (VmHWM), which also counts
// what the heap numbers miss (fragmentation, goroutine stacks, buffers
// outside the Go heap). It is for benchmarks only: VmHWM is per process, so
// the probe first returns freed memory to the OS and resets the high-water
// mark, so the generation of the input file does not count.
type Probe struct {
	peakHeap atomic.Uint64
	done     chan struct{}
	stopped  chan struct{}
	baseRSS  uint64
	rssReset bool
	cpuStart time.Duration
	// CPU is the CPU time (user and system) of the process while probed,
	// 0 where it cannot be read; set by Stop.
	CPU time.Duration
}

// Start settles the heap, resets VmHWM and starts sampling.
func Start() *Probe {
	runtime.GC()
	debug.FreeOSMemory()
	p := &Probe{done: make(chan struct{}), stopped: make(chan struct{})}
	// Writing 5 to clear_refs resets the peak RSS to the current RSS
	// (Linux 4.0 and later); without it VmHWM would report the generator.
	p.rssReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	p.baseRSS = procStatusKB("VmRSS")
	p.cpuStart, _ = ProcessCPU()
	go func() {
		defer close(p.stopped)
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > p.peakHeap.Load() {
				p.peakHeap.Store(ms.HeapAlloc)
			}
			select {
			case <-p.done:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// Stop ends sampling and returns the peak heap and, when the kernel let the
// high-water mark be reset, the peak RSS, both in MiB (RSS 0 when unknown).
func (p *Probe) Stop() (heapMB, rssMB float64) {
	close(p.done)
	<-p.stopped
	cpu, _ := ProcessCPU()
	p.CPU = cpu - p.cpuStart
	heapMB = float64(p.peakHeap.Load()) / (1 << 20)
	if p.rssReset {
		rssMB = float64(procStatusKB("VmHWM")) / 1024
	}
	return heapMB, rssMB
}

// procStatusKB reads one "Name:   123 kB" field of /proc/self/status.
func procStatusKB(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok || string(name) != field {
			continue
		}
		kb, _ := strconv.ParseUint(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
		return kb
	}
	return 0
}
