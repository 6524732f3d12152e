package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"github.com/payrun/payrun/internal/pgtest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// payrunBin is the payrun binary built once for the tests that need two
// real processes (the ledger lock is per process).
var payrunBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "payrun-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	payrunBin = filepath.Join(dir, "payrun")
	if out, err := exec.Command("go", "build", "-o", payrunBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build payrun: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := pgtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// runIn runs payrun in-process with env as the whole environment and
// returns the exit code, stdout and stderr.
func runIn(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb syncBuffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), args)
	if err != nil && !strings.Contains(errb.String(), err.Error()) {
		errb.Write([]byte("payrun: " + err.Error() + "\n"))
	}
	return ExitCode(err), out.String(), errb.String()
}

// writeSheet writes a CSV with the samples' header and the given rows of
// samples/crypto-payouts.csv (1-based), renumbering the ids with prefix so
// sheets do not collide in one ledger.
func writeSheet(t *testing.T, path, prefix string, rows ...int) {
	t.Helper()
	recs := readCSV(t, "../../samples/crypto-payouts.csv")
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(recs[0])
	for _, r := range rows {
		rec := append([]string{}, recs[r]...)
		rec[0] = fmt.Sprintf("%s-%04d", prefix, r)
		w.Write(rec)
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
