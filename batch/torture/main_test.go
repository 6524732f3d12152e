package torture

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/payrun/payrun/internal/pgtest"
)

// Environment knobs of the torture run.
const (
	// envMode "full" runs every crash point, the 500-row fault run at full
	// size and the 5,000-row repeated-kill run; anything else is short.
	envMode = "PAYRUN_TORTURE"
	// envSeeds is how many simulation seeds to run (short default 10).
	envSeeds = "PAYRUN_TORTURE_SEEDS"
	// envSeed replays one simulation seed.
	envSeed = "PAYRUN_TORTURE_SEED"
	// envPoint replays one crash point of the enumeration ("k" or "k/j").
	envPoint = "PAYRUN_TORTURE_POINT"
)

// payrunBin is the binary every process scenario runs, built once.
var payrunBin string

func full() bool { return os.Getenv(envMode) == "full" }

func seeds() int {
	if n, err := strconv.Atoi(os.Getenv(envSeeds)); err == nil && n > 0 {
		return n
	}
	if full() {
		return 200
	}
	return 10
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "payrun-torture-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	payrunBin = filepath.Join(dir, "payrun")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", payrunBin, "./cmd/payrun")
	build.Dir = root
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build payrun:", err)
		os.Exit(1)
	}
	// pgtest.Main stops the throwaway PostgreSQL cluster, if a test
	// started one (TestTorturePostgresTwoRunners).
	code := pgtest.Main(m)
	printSummary()
	os.RemoveAll(dir)
	os.Exit(code)
}

// family counts the scenarios of one family and their verdicts.
type family struct {
	scenarios, held, doubles, stuck int
	// figure is printed at the end of the line: a measurement that is
	// reported, not judged (the killed/fault-free time ratio, say).
	figure string
}

var (
	famMu    sync.Mutex
	families = map[string]*family{}
)

// record adds one scenario's verdict to its family's line.
func record(name string, v verdict) {
	famMu.Lock()
	defer famMu.Unlock()
	f := families[name]
	if f == nil {
		f = &family{}
		families[name] = f
	}
	f.scenarios++
	if v.ok() {
		f.held++
	}
	f.doubles += v.doubles
	f.stuck += v.stuck
}

// note sets the figure printed at the end of family name's line.
func note(name, figure string) {
	famMu.Lock()
	defer famMu.Unlock()
	f := families[name]
	if f == nil {
		f = &family{}
		families[name] = f
	}
	f.figure = figure
}

func printSummary() {
	famMu.Lock()
	defer famMu.Unlock()
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := families[n]
		line := fmt.Sprintf("%-22s scenarios: %d, invariant held: %d, double payments: %d, stuck rows: %d",
			n+":", f.scenarios, f.held, f.doubles, f.stuck)
		if f.figure != "" {
			line += ", " + f.figure
		}
		fmt.Println(line)
	}
}
