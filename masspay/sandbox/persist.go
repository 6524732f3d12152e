package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/payrun/payrun/internal/dirsync"
)

// stateVersion is the format version of a state file. Version 1 files
// (whole-state snapshots written at every group commit, no journal) load as
// a snapshot with an empty journal.
const stateVersion = 2

// Compaction: the journal is folded into a new snapshot once it is larger
// than compactFactor times the snapshot plus compactMin bytes, so that the
// bytes written per change stay constant however big the state grows.
// They are variables for the tests that compact at every chance.
var (
	compactFactor int64 = 2
	compactMin    int64 = 1 << 20
)

// stateNotSaved is the answer given instead of the real one when the state
// file could not be written: the client must not take for done what a crash
// could forget.
var stateNotSaved = errAnswer(&apiError{Status: http.StatusInternalServerError, Title: "Internal Server Error",
	Message: "the sandbox could not save its state file; retry the request with the same Idempotency-Key",
	Code:    "STATE_NOT_SAVED"})

// stateStore keeps a Sandbox's state in a snapshot file (path) and an
// append-only journal beside it (path + ".journal"), one JSON line per group
// commit holding what changed since the line before. A request waits until
// a journal line at least as new as what it saw is fsync'd, and one write
// covers every request that arrived before it began. A whole-state rewrite
// at each commit made a run slow down as the state grew; a journal line
// costs what the commit changed.
type stateStore struct {
	path    string
	mu      sync.Mutex
	cond    *sync.Cond
	writing bool
	saved   uint64 // version on disk
	failed  uint64 // version of the last failed write
	err     error  // error of that write

	// Owned by the one writer (writing true), or by New before serving.
	journal  *os.File // opened O_APPEND; nil until the first snapshot
	jsize    int64    // bytes in the journal
	snapSize int64    // bytes in the snapshot
	jseq     uint64   // sequence number of the last journal line written or tried
	needSnap bool     // a journal write failed: the next write is a snapshot
}

func newStateStore(path string) *stateStore {
	st := &stateStore{path: path}
	st.cond = sync.NewCond(&st.mu)
	return st
}

// journalPath is where the journal of the snapshot at path lives.
func journalPath(path string) string { return path + ".journal" }

// compactStep, when set by a test, is called at each step of a compaction
// ("temp", "renamed", "truncated"); an error stops the compaction there, as
// a crash would.
var compactStep func(step string) error

// sync returns once every change made so far is in the state file. Without
// a state file it does nothing.
func (s *Sandbox) sync() error {
	st := s.store
	if st == nil {
		return nil
	}
	v := s.ver.Load()
	st.mu.Lock()
	defer st.mu.Unlock()
	for st.saved < v {
		if st.writing {
			st.cond.Wait()
			if st.saved < v && st.failed >= v {
				return st.err
			}
			continue
		}
		st.writing = true
		st.mu.Unlock()
		got, err := s.write(false)
		st.mu.Lock()
		st.writing = false
		if err != nil {
			st.failed, st.err = got, err
		} else if got > st.saved {
			st.saved = got
		}
		st.cond.Broadcast()
		if err != nil {
			s.log.Error().Err(err).Msg("sandbox state not saved")
			return err
		}
	}
	return nil
}

// save writes the state now, whatever is already on disk: a whole snapshot
// when full, else a journal line.
func (s *Sandbox) save(full bool) error {
	s.store.mu.Lock()
	for s.store.writing {
		s.store.cond.Wait()
	}
	s.store.writing = true
	s.store.mu.Unlock()
	got, err := s.write(full)
	s.store.mu.Lock()
	s.store.writing = false
	if err == nil && got > s.store.saved {
		s.store.saved = got
	}
	s.store.cond.Broadcast()
	s.store.mu.Unlock()
	return err
}

// write takes what changed (or, to compact, the whole state) under s.mu,
// then encodes and writes it outside the lock. It returns the version
// written. Callers are the one writer.
func (s *Sandbox) write(full bool) (uint64, error) {
	st := s.store
	s.mu.Lock()
	v := s.ver.Load()
	if full || st.needSnap || st.journal == nil || st.jsize > compactFactor*st.snapSize+compactMin {
		snap, err := s.snapshot()
		s.dirty.reset(len(s.statement))
		s.mu.Unlock()
		if err != nil {
			return v, fmt.Errorf("save sandbox state: %w", err)
		}
		// Set before writing: a failed snapshot is retried in full.
		st.needSnap = true
		snap.JournalSeq = st.jseq
		if err := s.compact(snap); err != nil {
			return v, fmt.Errorf("save sandbox state: %w", err)
		}
		st.needSnap = false
		return v, nil
	}
	st.jseq++
	rec, err := s.delta(st.jseq)
	s.mu.Unlock()
	if err != nil {
		st.needSnap = true
		return v, fmt.Errorf("save sandbox state: %w", err)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		st.needSnap = true
		return v, fmt.Errorf("save sandbox state: %w", err)
	}
	data = append(data, '\n')
	// The line is written by one write(2) and ends in the only newline it
	// holds, so a crash leaves at worst a cut last line, which loading
	// drops: its answers were never sent.
	_, err = st.journal.Write(data)
	if err == nil {
		err = st.journal.Sync()
	}
	if err != nil {
		// The dirty marks are gone and the file may end in a cut line:
		// only a whole snapshot (which also empties the journal) is safe
		// now. jseq stays advanced so that this line, if it did reach
		// the disk, is older than that snapshot and never replayed.
		st.needSnap = true
		return v, fmt.Errorf("save sandbox state: append to journal %s: %w", st.journal.Name(), err)
	}
	st.jsize += int64(len(data))
	return v, nil
}

// compact writes snap as the new snapshot and empties the journal. Each step
// leaves a loadable pair: until the rename the old snapshot and the whole
// journal stand; after it the new snapshot stands, and the journal lines it
// already holds (sequence numbers up to snap.JournalSeq) are skipped on load.
func (s *Sandbox) compact(snap *stateJSON) error {
	st := s.store
	data, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(st.path, data); err != nil {
		return err
	}
	if compactStep != nil {
		if err := compactStep("renamed"); err != nil {
			return err
		}
	}
	st.snapSize = int64(len(data))
	if st.journal == nil {
		f, err := os.OpenFile(journalPath(st.path), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open journal: %w", err)
		}
		st.journal = f
	}
	if err := st.journal.Truncate(0); err != nil {
		return fmt.Errorf("truncate journal: %w", err)
	}
	if err := st.journal.Sync(); err != nil {
		return fmt.Errorf("truncate journal: %w", err)
	}
	st.jsize = 0
	if compactStep != nil {
		if err := compactStep("truncated"); err != nil {
			return err
		}
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash at any instant
// leaves either the old or the new file: temp file in the same directory,
// fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if err == nil && compactStep != nil {
		err = compactStep("temp")
		if err != nil {
			f.Close()
			return err // a crash here leaves the temp file behind
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return dirsync.Dir(dir)
}
