package batch

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// batchLayers ranks every package under batch: a package may import (in its
// code and its in-package tests) only batch packages of a lower rank, so no
// package imports one above it and none can import one that imports it
// back. A new package must be added here, at the rank its imports allow;
// the README's Architecture section lists the same tree.
var batchLayers = map[string]int{
	"batch/sheet":            0, // the row model, columns, amounts, countries, currencies, problems
	"batch/xlsxread":         0, // the fast XLSX worksheet reader
	"batch/flow":             0, // the adaptive window over rows in flight
	"batch/alert/alerttest":  0, // the receiving side of alert channels, for tests
	"batch/routing":          0, // route choice, attribute matching and error text shared by runner, plan and autopay
	"batch/validate":         1, // row and sheet problems, duplicate detection
	"batch/ingest":           2, // CSV and XLSX files into rows, ValidateFile, recording into the ledger
	"batch/results":          3, // results, plan and summary workbooks and CSV, the fast XLSX writer, export tables
	"batch/reconcile":        4, // status news (webhooks, polls), reconcile, flips, sheet standing
	"batch/pricing":          4, // plans: prices a sheet before it is paid
	"batch/exports":          5, // wallets, tax, history, confirmations; payee resolution
	"batch/autopay":          6, // autopay rules sheets: plan, apply, list, the rule a load asks for
	"batch":                  7, // the runner and its steps
	"batch/alert":            8, // tells people what a run did
	"batch/internal/paidrun": 8, // a run paid by the runner, for external tests
	"batch/torture":          9, // exactly-once evidence (tests only)
}

// TestBatchImportsOnlyDownward fails when a package under batch imports a
// batch package of its own rank or above, or is missing from batchLayers.
func TestBatchImportsOnlyDownward(t *testing.T) {
	const module = "github.com/payrun/payrun/"
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if d.Name() == "testdata" || (strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join("batch", path))
		rank, ok := batchLayers[name]
		if !ok {
			t.Errorf("%s is not in batchLayers: give it a rank", name)
			return nil
		}
		seen := map[string]bool{}
		for _, imp := range append(p.Imports, p.TestImports...) {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok || seen[dep] || (dep != "batch" && !strings.HasPrefix(dep, "batch/")) {
				continue
			}
			seen[dep] = true
			if r, known := batchLayers[dep]; !known || r >= rank {
				t.Errorf("%s (rank %d) imports %s (rank %d): batch packages import only downward", name, rank, dep, r)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
