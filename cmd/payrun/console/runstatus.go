package console

import (
	"context"

	"github.com/payrun/payrun/ledger"
)

// runInterrupted is how the pages show a run the ledger still has as
// running whose runner is gone (a console or payrun run killed, its host
// down). Only the display says so: a read page never rewrites the run's
// row, and a run that resumes its rows is a new run anyway.
const runInterrupted ledger.RunStatus = "interrupted"

// interruptedText tells a person what an interrupted run means.
const interruptedText = "Stopped without finishing: run it again to resume; nothing is paid twice."

// markInterrupted shows as runInterrupted each run of shown that the
// ledger has as running but no runner works on any more. all is every run
// of the ledger, oldest first, or nil to have it read when needed.
//
// A run is worked on while this console pays it; on PostgreSQL while a
// live run lease names it (its runner renews the lease while it runs,
// payrun run and consoles alike); on SQLite, where one process at a time
// runs and holds the ledger's Lock throughout, only the newest running
// run can be, and only while the Lock is held. When the ledger cannot
// tell, runs stay as recorded.
func (s *Server) markInterrupted(ctx context.Context, shown []ledger.Run, all []ledger.Run) {
	var running []int
	for i, r := range shown {
		if r.Status == ledger.RunRunning {
			running = append(running, i)
		}
	}
	if len(running) == 0 {
		return
	}
	s.mu.Lock()
	var mine int64
	if s.active != nil {
		mine = s.active.runID
	}
	s.mu.Unlock()
	alive := map[int64]bool{mine: mine != 0}
	if s.cfg.Ledger.Postgres() {
		live, err := s.cfg.Ledger.LiveRunLeases(ctx)
		if err != nil {
			s.cfg.Log.Warn().Err(err).Msg("read run leases; runs shown as recorded")
			return
		}
		for _, l := range live {
			alive[l.RunID] = true
		}
	} else {
		held, err := s.cfg.Ledger.LockHeld(ctx)
		if err != nil {
			s.cfg.Log.Warn().Err(err).Msg("probe ledger lock; runs shown as recorded")
			return
		}
		if held {
			if all == nil {
				if all, err = s.cfg.Ledger.Runs(ctx); err != nil {
					s.cfg.Log.Warn().Err(err).Msg("list runs; runs shown as recorded")
					return
				}
			}
			for i := len(all) - 1; i >= 0; i-- {
				if all[i].Status == ledger.RunRunning {
					alive[all[i].ID] = true
					break
				}
			}
		}
	}
	for _, i := range running {
		if !alive[shown[i].ID] {
			shown[i].Status = runInterrupted
		}
	}
}
