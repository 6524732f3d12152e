package torture

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTortureCrashPoints kills the real binary at every boundary of a
// 50-row run (short mode: five of them), resumes until every row is final,
// and checks the invariant against the sandbox, which lives in another
// process. A second pass crashes once more at a random point of the resume.
func TestTortureCrashPoints(t *testing.T) {
	dir := t.TempDir()
	sb := startSandbox(t, 1)

	// The clean run: count the boundaries, and it must hold the invariant too.
	count := filepath.Join(dir, "count")
	sh := writeSheet(t, filepath.Join(dir, "clean.csv"), "clean", mix50())
	o := runOpts{sheet: sh.path, ledger: filepath.Join(dir, "clean.db"), out: filepath.Join(dir, "clean.xlsx"),
		baseURL: sb.url, workers: 1, countFile: count}
	if res := runPayrun(t, o); res.killed || (res.code != 0 && res.code != 1) {
		t.Fatalf("clean run: exit %d\n%s", res.code, lastLines(res.output, 20))
	}
	b, _ := os.ReadFile(count)
	names := strings.Fields(string(b))
	if len(names) < 200 {
		t.Fatalf("a 50-row run passed only %d boundaries", len(names))
	}
	byName := map[string]int{}
	for _, n := range names {
		byName[n]++
	}
	t.Logf("clean run: %d boundaries %v", len(names), byName)
	rows := ledgerRows(t, o.ledger)
	judge(t, "clean", "go test -run TortureCrashPoints", checkInvariant(sh, rows, sb.audit(t), o.out))

	points := crashPoints(len(names))
	rng := rand.New(rand.NewPCG(uint64(len(names)), 7))
	for i, k := range points {
		if i > 0 && i%25 == 0 {
			sb = startSandbox(t, int64(i)) // keep each audit small
		}
		name := names[k-1]
		j := 1 + rng.IntN(len(names))
		for pass := 1; pass <= 2; pass++ {
			if sp := os.Getenv(envPoint); sp != "" && sp != fmt.Sprint(k) && sp != fmt.Sprintf("%d/%d", k, j) {
				continue
			}
			tag := fmt.Sprintf("p%dk%d", pass, k)
			sh := writeSheet(t, filepath.Join(dir, tag+".csv"), tag, mix50())
			o := runOpts{sheet: sh.path, ledger: filepath.Join(dir, tag+".db"), out: filepath.Join(dir, tag+".xlsx"),
				baseURL: sb.url, workers: 1, faultpoint: "*@" + strconv.Itoa(k)}
			replay := fmt.Sprintf("%s=%d (boundary %s)", envPoint, k, name)
			if pass == 2 {
				o.workers = 8
				replay = fmt.Sprintf("%s=%d/%d", envPoint, k, j)
			}
			res := runPayrun(t, o)
			if pass == 1 && !res.killed {
				t.Errorf("crash point %d (%s): the run was not killed (exit %d)", k, name, res.code)
			}
			if pass == 2 {
				o.faultpoint = "*@" + strconv.Itoa(j)
				runPayrun(t, o)
			}
			resumeUntilDone(t, sh, o, 6)
			fam := "crash-points"
			if pass == 2 {
				fam = "crash-points-twice"
			}
			judge(t, fam, replay, checkInvariant(sh, ledgerRows(t, o.ledger), sb.audit(t), o.out))
			os.Remove(o.ledger)
		}
	}
}

// crashPoints is every boundary in full mode, else five spread over the run
// (always including the first and last).
func crashPoints(n int) []int {
	if full() {
		ks := make([]int, n)
		for i := range ks {
			ks[i] = i + 1
		}
		return ks
	}
	return []int{1, n / 4, n / 2, 3 * n / 4, n}
}
