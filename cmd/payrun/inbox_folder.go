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

// fileSheet moves the sheet into folder, and beside it its results as
// <name>.results.xlsx, or the list of its mistakes as <name>.mistakes.txt
// when it was refused; it returns the sheet's new path and the other's (""
// when neither was written). A name already there gets "-2", "-3"...
func fileSheet(sheet, results, mistakes, folder string) (sheetDest, resultsDest string, err error) {
	if err := os.MkdirAll(folder, 0o750); err != nil {
		return "", "", fmt.Errorf("file sheet: %w", err)
	}
	base := filepath.Base(sheet)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	dest := filepath.Join(folder, base)
	for n := 2; ; n++ {
		if _, err := os.Lstat(dest); errors.Is(err, os.ErrNotExist) {
			break
		}
		stem = fmt.Sprintf("%s-%d", strings.TrimSuffix(base, ext), n)
		dest = filepath.Join(folder, stem+ext)
	}
	if err := os.Rename(sheet, dest); err != nil {
		return "", "", fmt.Errorf("file sheet: %w", err)
	}
	from, to := results, filepath.Join(folder, stem+".results.xlsx")
	if _, err := os.Stat(from); err != nil {
		from, to = mistakes, filepath.Join(folder, stem+".mistakes.txt")
		if _, err := os.Stat(from); err != nil {
			return dest, "", nil
		}
	}
	if err := os.Rename(from, to); err != nil {
		return dest, "", fmt.Errorf("file %s: %w", filepath.Base(from), err)
	}
	return dest, to, nil
}

// fileStat is what must stay still for a sheet to count as fully copied.
type fileStat struct {
	size  int64
	mtime int64
}

// sheetsIn lists the candidate sheets of dir: regular .csv and .xlsx files
// whose names are not those of temp files.
func sheetsIn(dir string) (map[string]fileStat, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	out := map[string]fileStat{}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || isTempName(name) {
			continue
		}
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv", ".xlsx":
		default:
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since ReadDir
		}
		out[name] = fileStat{size: info.Size(), mtime: info.ModTime().UnixNano()}
	}
	return out, nil
}

// isTempName reports names that editors, browsers and copy tools use while
// a file is still being written.
func isTempName(name string) bool {
	lower := strings.ToLower(name)
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~$") || strings.HasPrefix(name, "~") {
		return true
	}
	for _, suf := range []string{".tmp", ".part", ".crdownload", ".partial", ".swp", "~"} {
		if strings.HasSuffix(lower, suf) {
			return true
		}
	}
	return false
}
