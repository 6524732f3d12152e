package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/payrun/payrun/batch/ingest"
)

// ingestKey identifies a sheet together with everything that decides which
// rows the ledger records from it: its bytes (sum), the worksheet, the
// decimal mark and time zone, and the lines --skip-invalid records as
// INVALID. Two runs with the same key read the same rows, which is what
// lets a re-run of a settled sheet take its rows over instead of reading
// them again (ledger.CopySettledRun).
func ingestKey(sum string, opts ingest.IngestOptions, invalid map[int][]string) string {
	h := sha256.New()
	loc := ""
	if opts.Location != nil {
		loc = opts.Location.String()
	}
	fmt.Fprintf(h, "sheet %s\nworksheet %q\ndecimal %q\nzone %q\n", sum, opts.SheetName, opts.DecimalMark, loc)
	lines := make([]int, 0, len(invalid))
	for line := range invalid {
		lines = append(lines, line)
	}
	sort.Ints(lines)
	for _, line := range lines {
		fmt.Fprintf(h, "invalid %d %q\n", line, invalid[line])
	}
	return hex.EncodeToString(h.Sum(nil))
}
