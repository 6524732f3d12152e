package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// inboxFolders are the folders of an inbox DIR.
var inboxFolders = []string{"incoming", "done", "failed"}

// prepareInbox checks that dir is an inbox, DIR/incoming being where sheets
// are dropped, and creates done/ and failed/ beside it. A missing incoming/
// is a usage error unless create: a mistyped path in a crontab would
// otherwise set up an empty inbox that nobody drops sheets into, and the
// inbox would exit 0 on every tick, forever.
//
// It reports whether it created incoming/ (a new inbox, set up by --create).
func prepareInbox(dir string, create bool) (bool, error) {
	incoming := filepath.Join(dir, "incoming")
	st, err := os.Stat(incoming)
	switch {
	case err == nil && !st.IsDir():
		return false, &UsageError{Err: fmt.Errorf("inbox folder %s is not a folder", incoming), Hint: "payrun inbox --once DIR, DIR holding the folder incoming/"}
	case errors.Is(err, os.ErrNotExist) && !create:
		return false, &UsageError{Err: fmt.Errorf("inbox folder %s does not exist", incoming),
			Hint: "check the path; to set up a new inbox there, run once: payrun inbox --create --once " + dir}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return false, &ExitError{Code: ExitAborted, Err: fmt.Errorf("open inbox folder: %w", err)}
	}
	for _, sub := range inboxFolders {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return false, &ExitError{Code: ExitAborted, Err: fmt.Errorf("create inbox folder: %w", err)}
		}
	}
	return err != nil, nil
}

// inboxOfIncoming returns the inbox folder DIR when dir is DIR/incoming of
// an inbox (one a tick has locked, or with done/ and failed/ beside it):
// a results file written there would be taken for a new sheet on the next
// tick.
func inboxOfIncoming(dir string) (string, bool) {
	abs := absPath(dir)
	if filepath.Base(abs) != "incoming" {
		return "", false
	}
	root := filepath.Dir(abs)
	// .payrun-inbox.lock, or .payrun-inbox.<host>.lock on a PostgreSQL
	// ledger.
	if locks, _ := filepath.Glob(filepath.Join(root, ".payrun-inbox*.lock")); len(locks) > 0 {
		return root, true
	}
	for _, sub := range inboxFolders[1:] {
		if st, err := os.Stat(filepath.Join(root, sub)); err != nil || !st.IsDir() {
			return "", false
		}
	}
	return root, true
}

// inboxResultsDir is where payrun report writes a run's results when their
// default place is an inbox's incoming folder.
const inboxResultsDir = "results"

// isResultsName reports a results file's name (<name>.results.xlsx or
// <name>.results.csv, as payrun run and payrun report write them): found
// in incoming it was written there, not dropped as a sheet to pay.
func isResultsName(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasSuffix(lower, ".results.xlsx") || strings.HasSuffix(lower, ".results.csv")
}

// setAside moves a results file found in incoming (payrun report or a run
// by hand wrote it beside a sheet there) to DIR/ignored/<date>/, saying
// why: it lists payments already made, and paying it as a sheet would at
// best read as a second payment.
func (w *inboxWorker) setAside(name string) error {
	dest, _, err := fileSheet(filepath.Join(w.dir, "incoming", name), "", "", filepath.Join(w.dir, "ignored", time.Now().Format("2006-01-02")))
	if err != nil {
		return &ExitError{Code: ExitAborted, Err: fmt.Errorf("set aside results file: %w", err)}
	}
	w.log.Warn().Str("sheet", name).Str("moved_to", dest).Msg("a results file, not a sheet: moved aside, not paid")
	fmt.Fprintf(w.m.Stdout, "%s: a results file, not a sheet to pay; moved aside to %s, not paid\n", name, dest)
	return nil
}
