package faultpoint

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// childEnv marks the re-executed test binary that plays the victim.
const childEnv = "FAULTPOINT_TEST_CHILD"

// TestChild is the victim: it hits a, b, a, b, ... and prints each name it
// survived. Only meaningful when re-executed by TestKill.
func TestChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestKill")
	}
	for i := 0; i < 5; i++ {
		for _, n := range []string{"a", "b"} {
			Hit(n)
			os.Stdout.WriteString("survived " + n + "\n")
		}
	}
}

func runChild(t *testing.T, spec string) (stdout string, counted []string, killed bool) {
	t.Helper()
	count := filepath.Join(t.TempDir(), "count")
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1", EnvKill+"="+spec, EnvCount+"="+count)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws, ok := ee.Sys().(syscall.WaitStatus)
		switch {
		case ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL:
			killed = true
		case runtime.GOOS == "windows" && ee.ExitCode() == KilledExitCode:
			killed = true // no signals there: killSelf's exit status
		}
	} else if err != nil {
		t.Fatalf("run child: %v", err)
	}
	b, _ := os.ReadFile(count)
	return string(out), strings.Fields(string(b)), killed
}

func TestKillAtNthHitOfName(t *testing.T) {
	out, counted, killed := runChild(t, "b@2")
	if !killed {
		t.Fatalf("child not killed by SIGKILL; output:\n%s", out)
	}
	if got := strings.Count(out, "survived"); got != 3 {
		t.Errorf("survived %d hits before b@2, want 3 (a, b, a):\n%s", got, out)
	}
	if want := "a b a b"; strings.Join(counted, " ") != want {
		t.Errorf("count file %q, want %q (the fatal hit is recorded too)", counted, want)
	}
}

func TestKillAtNthHitOfAny(t *testing.T) {
	out, counted, killed := runChild(t, "*@5")
	if !killed || strings.Count(out, "survived") != 4 || len(counted) != 5 {
		t.Fatalf("killed=%v survived=%d counted=%v; want killed at the 5th boundary", killed, strings.Count(out, "survived"), counted)
	}
}

func TestNoKillBeyondLastHit(t *testing.T) {
	out, counted, killed := runChild(t, "a@99")
	if killed || strings.Count(out, "survived") != 10 || len(counted) != 10 {
		t.Fatalf("killed=%v survived=%d counted=%d; want a clean run counting 10 boundaries", killed, strings.Count(out, "survived"), len(counted))
	}
}

func TestParseSpec(t *testing.T) {
	for _, bad := range []string{"a", "@3", "a@0", "a@x", "a@-1"} {
		if _, _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
	name, n, err := ParseSpec("ledger.transition.initiated@12")
	if err != nil || name != "ledger.transition.initiated" || n != 12 {
		t.Errorf("ParseSpec = %q, %d, %v", name, n, err)
	}
}

func TestHookSeesEveryHitAndRestores(t *testing.T) {
	if Enabled() {
		t.Skip("fault points armed from the environment")
	}
	var got []string
	restore := SetHook(func(name string) { got = append(got, name) })
	Hit("x")
	Hit2("ledger.transition.", "paid")
	restore()
	Hit("y")
	if strings.Join(got, ",") != "x,ledger.transition.paid" || Enabled() {
		t.Fatalf("hook saw %v, enabled after restore %v", got, Enabled())
	}
}

// BenchmarkHitDisabled is the price every boundary pays in production.
func BenchmarkHitDisabled(b *testing.B) {
	for b.Loop() {
		Hit("api.commit.before")
	}
}
