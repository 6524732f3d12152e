package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// killChildEnv makes the test binary, re-executed by
// TestStateFileSurvivesSIGKILL, act as the child that gets killed.
const killChildEnv = "SANDBOX_STATE_KILL_CHILD"

// TestStateFileSurvivesSIGKILL runs a sandbox with a state file in a child
// process that sends itself a stream of loads from 4 goroutines and prints
// each load answered 200; the parent SIGKILLs it mid-stream. The file left
// behind must load, and hold every load the child saw answered.
func TestStateFileSurvivesSIGKILL(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(path)
		return
	}
	killAndLoad(t, "^TestStateFileSurvivesSIGKILL$", 60)
}

// TestStateFileSurvivesSIGKILLWhileCompacting is the same with the child
// compacting its journal at every other write, and killed later, so that
// the kill lands among compactions as well as journal appends.
func TestStateFileSurvivesSIGKILLWhileCompacting(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		compactFactor, compactMin = 0, 0 // every other write is a compaction
		killChild(path)
		return
	}
	killAndLoad(t, "^TestStateFileSurvivesSIGKILLWhileCompacting$", 400)
}

// killAndLoad runs the test named by run as the child, SIGKILLs it once
// kill loads were answered, and checks the files it left.
func killAndLoad(t *testing.T, run string, kill int) {
	path := filepath.Join(t.TempDir(), "state.json")
	cmd := exec.Command(os.Args[0], "-test.run="+run)
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	answered := map[string]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "answered ")
		if !ok {
			continue
		}
		answered[id] = true
		if len(answered) == kill && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("the child ended before %d loads were answered (%d)", kill, len(answered))
	}

	s, err := New(Config{APIKey: testKey, StateFile: path})
	if err != nil {
		t.Fatalf("the state left by SIGKILL does not load: %v", err)
	}
	defer s.Close()
	if stale, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp-*")); len(stale) > 0 {
		t.Errorf("temp files of cut writes left after loading: %v", stale)
	}
	saved := map[string]bool{}
	for _, l := range s.Audit().Loads {
		saved[l.ClientLoadID] = true
	}
	for id := range answered {
		if !saved[id] {
			t.Errorf("load %s was answered 200 but is not in the state file", id)
		}
	}
	t.Logf("%d loads answered before the kill, %d in the state file", len(answered), len(saved))
}

// killChild serves loads to itself until it is killed.
func killChild(path string) {
	srv, err := Start(Config{APIKey: testKey, StateFile: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	post := func(path, key, body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL()+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	_, b := post("/user", "u", `{"internal_user_id":"k1","country":"USA","first_name":"K","last_name":"L","email":"k@example.com"}`)
	user := b[strings.Index(b, "usr_") : strings.Index(b, "usr_")+40]
	var usd string
	srv.mu.Lock()
	usd = srv.balances["USD"].token
	srv.mu.Unlock()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				st, _ := post("/load/"+user, id, `{"client_load_id":"`+id+`","source_token":"`+usd+`","amount":1}`)
				if st == 200 {
					mu.Lock()
					fmt.Fprintln(os.Stdout, "answered "+id)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}
