package ledger_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/payrun/payrun/internal/pgtest"
	"github.com/payrun/payrun/ledger"
)

// Some tests re-execute the test binary as a child process, selected by
// these environment variables, so they can kill it with SIGKILL.
const (
	envChild = "LEDGER_TEST_CHILD"
	envPath  = "LEDGER_TEST_PATH"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		os.Exit(pgtest.Main(m))
	case "transitions":
		childTransitions(os.Getenv(envPath))
	case "lock":
		childLock(os.Getenv(envPath))
	case "create":
		// PAYRUN_FAULTPOINT=ledger.create@1 kills it while it creates.
		l, err := ledger.Open(context.Background(), os.Getenv(envPath), ledger.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		l.Close()
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "unknown child", os.Getenv(envChild))
		os.Exit(2)
	}
}

// childTransitions bounces rows crash-0..3 between route_ready and
// initiating forever, bumping attempts each time, and prints "<id> <n>"
// after each transition returned (committed). Its parent kills it.
func childTransitions(path string) {
	ctx := context.Background()
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("crash-%d", w)
			from, to := ledger.StateRouteReady, ledger.StateInitiating
			for n := 1; ; n++ {
				_, err := l.Transition(ctx, id, from, to, ledger.RowUpdate{AddAttempts: 1,
					LastError: new(strings.Repeat("x", n%500))}, ledger.Event{IdempotencyKey: id})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "%s %d\n", id, n)
				mu.Unlock()
				from, to = to, from
			}
		}()
	}
	wg.Wait()
}

// childLock takes the ledger's lock, says so, and waits to be killed.
func childLock(path string) {
	ctx := context.Background()
	l, err := ledger.Open(ctx, path, ledger.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := l.Lock(ctx, ledger.LockOwner{Command: "payrun run child.csv"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("locked")
	select {}
}

// startChild runs the test binary as child mode on path and returns it
// with a scanner over its stdout.
func startChild(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envPath+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}
