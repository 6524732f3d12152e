package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/payrun/payrun/batch"
	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/pricing"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/routing"
	"github.com/payrun/payrun/batch/validate"
	"github.com/payrun/payrun/cmd/payrun/internal/resultsnote"
	"github.com/payrun/payrun/cmd/payrun/internal/runlease"
	"github.com/payrun/payrun/ledger"
)

// activeRun is the run this console is paying.
type activeRun struct {
	runID  int64
	planID int64
	user   string
}

// runRefusal is a reason a run was not started, told to the person as is.
type runRefusal struct {
	status int
	title  string
	text   string
	detail string
}

func (e *runRefusal) Error() string { return e.title + ": " + e.text }

// startRunHandler starts the run of an approved plan and sends the person to
// its progress page.
func (s *Server) startRunHandler(w http.ResponseWriter, r *http.Request, sess *session) {
	rec, ok := s.planFromPath(w, r)
	if !ok {
		return
	}
	back := fmt.Sprintf("/plans/%d", rec.ID)
	runID, err := s.StartRun(r.Context(), rec, sess.user)
	if err != nil {
		extra := map[string]string{"plan_id": strconv.FormatInt(rec.ID, 10), "sha256": rec.SheetSHA256}
		var rf *runRefusal
		if errors.As(err, &rf) {
			s.record(r, sess.user, "run_refused", 0, fmt.Sprintf("%s asked to run plan %d; not started: %s", sess.user, rec.ID, rf.text), extra)
			s.messageDetail(w, r, rf.status, rf.title, rf.text, rf.detail, back)
			return
		}
		s.cfg.Log.Error().Err(err).Int64("plan_id", rec.ID).Msg("start run")
		s.record(r, sess.user, "run_refused", 0, fmt.Sprintf("%s asked to run plan %d; it failed to start: %v", sess.user, rec.ID, err), extra)
		s.message(w, r, http.StatusInternalServerError, "Run not started", err.Error(), back)
		return
	}
	s.record(r, sess.user, "run", runID, fmt.Sprintf("%s started run %d of plan %d (%s, approved by %s)", sess.user, runID, rec.ID, rec.SheetName, rec.DecidedBy),
		map[string]string{"plan_id": strconv.FormatInt(rec.ID, 10), "sha256": rec.SheetSHA256})
	http.Redirect(w, r, fmt.Sprintf("/runs/%d", runID), http.StatusSeeOther)
}

// StartRun starts paying the sheet of plan rec as user, the same way payrun
// run does: the approved sheet checked again, the ledger locked, the run
// begun and its rows recorded, what is left priced against the balance, and
// the runner started. It returns the new run's id once the runner is under
// way; the run goes on in the background and records its end and results in
// the ledger. A *runRefusal says why a run could not start (not approved,
// ledger in use, funds short...).
func (s *Server) StartRun(ctx context.Context, rec ledger.Plan, user string) (int64, error) {
	if rec.Status != ledger.PlanApproved {
		return 0, &runRefusal{http.StatusConflict, "Not approved", fmt.Sprintf("Plan %d is %s: a run needs a plan approved by someone other than its preparer.", rec.ID, rec.Status), ""}
	}
	if s.cfg.API == nil {
		return 0, &runRefusal{http.StatusServiceUnavailable, "No MassPay connection", "This console has no MassPay connection.", ""}
	}
	s.mu.Lock()
	if s.active != nil {
		a := *s.active
		s.mu.Unlock()
		return 0, &runRefusal{http.StatusConflict, "A run is in progress",
			fmt.Sprintf("Run %d (plan %d, started by %s) is still paying. One run at a time per ledger: wait for it to finish.", a.runID, a.planID, a.user), ""}
	}
	// Hold the slot while starting, so two clicks cannot both get past here.
	s.active = &activeRun{planID: rec.ID, user: user}
	s.mu.Unlock()
	started := false
	defer func() {
		if !started {
			s.mu.Lock()
			s.active = nil
			s.mu.Unlock()
		}
	}()

	// 1. The sheet: exactly the bytes approved, and still valid.
	path, err := s.sheetFile(ctx, rec.SheetSHA256)
	if err != nil {
		return 0, &runRefusal{http.StatusNotFound, "Sheet not here", "Neither this console nor the ledger holds the sheet of this plan; upload it again.", ""}
	}
	sum, err := ingest.FileSHA256(path)
	if err != nil {
		return 0, err
	}
	approved, err := s.cfg.Ledger.ApprovedPlanFor(ctx, sum)
	if err != nil || sum != rec.SheetSHA256 {
		return 0, &runRefusal{http.StatusConflict, "Not approved", "The stored sheet does not match an approved plan; it was not paid.", ""}
	}
	rep, err := ingest.ValidateFile(path, s.ingestOptions(), validate.ValidateOptions{})
	if err != nil || !rep.OK() {
		return 0, &runRefusal{http.StatusUnprocessableEntity, "Sheet has mistakes", "The sheet no longer validates; nothing was paid.", ""}
	}
	// A sheet paid in full already: no run, which would only read as a
	// second payment of it.
	if st, err := reconcile.SheetStanding(ctx, s.cfg.Ledger, ingest.SheetRows(path, s.ingestOptions())); err == nil && st.NothingLeft() {
		return 0, &runRefusal{http.StatusConflict, "Nothing to pay", "Every row of this sheet was settled before (" + st.Text() + "); no run was started.", ""}
	}

	// 2. The ledger, locked: one runner per ledger, across processes. On
	// PostgreSQL the Lock is a session advisory lock that payrun run does
	// not take (it shares a run's rows through claims and shows itself by
	// a run lease instead), so a run lease of another runner refuses too.
	// The console keeps the Lock there as well: taken before the leases
	// are read and held while it pays, it makes the read and the console's
	// own lease one step, so two consoles clicked at once still start one
	// run per ledger, and whatever else takes the Lock (payrun ledger
	// archive, an older payrun) still finds the ledger in use.
	name := filepath.Base(path)
	command := fmt.Sprintf("payrun serve: %s runs plan %d (%s)", user, rec.ID, name)
	lock, err := s.cfg.Ledger.Lock(ctx, ledger.LockOwner{Command: command})
	if err != nil {
		var le *ledger.LockedError
		if errors.As(err, &le) {
			return 0, &runRefusal{http.StatusConflict, "The ledger is in use", lockedText(le), "Nothing was paid. Try again when it has finished: rows it pays will not be paid twice."}
		}
		return 0, fmt.Errorf("lock ledger: %w", err)
	}
	release := true
	defer func() {
		if release {
			lock.Release()
		}
	}()
	claimOwner := ""
	if s.cfg.Ledger.Postgres() {
		live, err := s.cfg.Ledger.LiveRunLeases(ctx)
		if err != nil {
			return 0, err
		}
		if len(live) > 0 {
			return 0, &runRefusal{http.StatusConflict, "The ledger is in use", leasedText(live[0]), "Nothing was paid. Try again when it has finished: rows it pays will not be paid twice."}
		}
		claimOwner = runlease.Name()
	}

	// 3. MassPay balances, then the run and its rows.
	before, err := s.balances(ctx)
	if err != nil {
		return 0, fmt.Errorf("fetch balances: %w", err)
	}
	run, err := s.cfg.Ledger.BeginRun(ctx, ledger.RunInfo{SheetName: name, SheetSHA256: sum, Operator: user + " (console)",
		Environment: s.cfg.Environment, BalancesBefore: before})
	if err != nil {
		return 0, fmt.Errorf("begin run: %w", err)
	}
	// The run lease, at once: without it the run would read as
	// interrupted (runStatus) to every console on the ledger.
	endLease := func() {}
	if claimOwner != "" {
		if endLease, err = runlease.Hold(ctx, s.cfg.Ledger, s.cfg.Log, claimOwner, run.ID, command, s.cfg.ClaimLease); err != nil {
			_, _ = s.cfg.Ledger.FinishRun(context.WithoutCancel(ctx), run.ID, ledger.RunFinish{Status: ledger.RunAborted, BalancesAfter: before})
			return 0, err
		}
	}
	defer func() {
		if release {
			endLease()
		}
	}()
	abort := func(why string) {
		_, _ = s.cfg.Ledger.FinishRun(context.WithoutCancel(ctx), run.ID, ledger.RunFinish{Status: ledger.RunAborted, BalancesAfter: before})
		_, _ = s.cfg.Ledger.AppendEvent(context.WithoutCancel(ctx), ledger.Event{Kind: ledger.EventRun, RunID: run.ID, Message: why})
	}
	if _, err := s.cfg.Ledger.AppendEvent(ctx, ledger.Event{Kind: ledger.EventApproval, RunID: run.ID,
		Message: fmt.Sprintf("run %d pays plan %d, prepared by %s and approved by %s", run.ID, approved.ID, approved.PreparedBy, approved.DecidedBy)}); err != nil {
		abort("could not record the approval")
		return 0, fmt.Errorf("record approval: %w", err)
	}
	if err := ingestSheet(ctx, s.cfg.Ledger, run.ID, path, s.ingestOptions()); err != nil {
		abort("could not record the sheet's rows: " + err.Error())
		return 0, err
	}

	// 4. What is left to pay, against the balance: a shortfall pays nothing.
	plan, err := pricing.MakePlan(ctx, s.cfg.API, batch.LedgerRowsToWork(ctx, s.cfg.Ledger, run.ID))
	if err != nil {
		abort("could not price the run: " + err.Error())
		return 0, fmt.Errorf("price the run: %w", err)
	}
	if len(plan.Shortfall) > 0 {
		abort("balance short: " + totalsText(plan.Shortfall))
		return 0, &runRefusal{http.StatusConflict, "Funds short", "The MassPay balance does not cover this sheet (short by " + totalsText(plan.Shortfall) + "). Nothing was paid. Add funds and run again.", ""}
	}

	// 5. Pay, in the background, under the console's own contexts: the
	// request ends now, the run does not.
	s.mu.Lock()
	s.active.runID = run.ID
	s.mu.Unlock()
	started, release = true, false
	s.wg.Add(1)
	go s.pay(run.ID, lock, endLease, claimOwner, before)
	return run.ID, nil
}

// pay runs the runner, records the end of the run and writes its results.
// claimOwner names the runner in its row claims on a PostgreSQL ledger
// ("" on SQLite); endLease ends its run lease there.
func (s *Server) pay(runID int64, lock *ledger.Lock, endLease func(), claimOwner string, before ledger.Balances) {
	defer s.wg.Done()
	defer func() {
		endLease()
		lock.Release()
		s.mu.Lock()
		s.active = nil
		s.mu.Unlock()
	}()
	log := s.cfg.Log.With().Int64("run_id", runID).Logger()
	// Progress pages read the ledger, not the runner's reports: the same
	// page then serves a run cron started.
	// On PostgreSQL a payrun run of the same sheet on another host may join:
	// the rows are shared out by claims, each row worked by one runner.
	rn := &batch.Runner{API: s.cfg.API, Ledger: s.cfg.Ledger, Workers: s.cfg.Workers, Flow: s.cfg.Flow, Log: log,
		ClaimOwner: claimOwner, ClaimLease: s.cfg.ClaimLease}
	stats, runErr := rn.Run(s.stop, s.calls, runID)
	if claimOwner != "" {
		log.Info().Str("runner", claimOwner).Int("rows_worked", stats.Worked).Msg("rows this runner worked; other runners on this ledger worked the rest")
	}
	ctx := context.WithoutCancel(s.calls)
	after := before
	if bals, err := s.balances(s.calls); err == nil {
		after = bals
	}
	status := ledger.RunFinished
	if runErr != nil || stats.Interrupted {
		status = ledger.RunAborted
		log.Warn().Err(runErr).Bool("interrupted", stats.Interrupted).Msg("run ended early")
	}
	if _, err := s.cfg.Ledger.FinishRun(ctx, runID, ledger.RunFinish{Status: status, BalancesAfter: after}); err != nil {
		log.Error().Err(err).Msg("record end of run")
	}
	sum, werr := s.writeResults(ctx, runID)
	if werr != nil {
		log.Error().Err(werr).Msg("write results")
	} else if err := resultsnote.Record(ctx, s.cfg.Ledger, runID, sum.Path); err != nil {
		// payrun report would write beside the uploaded sheet instead.
		log.Error().Err(err).Msg("record results path")
	}
	if s.cfg.OnRunEnded != nil {
		ended := RunEnded{RunID: runID, Halted: rn.Halted(), After: after, Summary: sum}
		if runErr != nil && s.stop.Err() == nil {
			ended.Err = runErr
		}
		if werr == nil {
			ended.Results = s.resultsPath(runID)
		}
		if info, err := s.cfg.Ledger.Run(ctx, runID); err == nil {
			ended.Sheet = info.SheetName
		}
		s.cfg.OnRunEnded(ctx, ended)
	}
}

// balances reads the account balances the way payrun run does
// (routing.FetchBalances): a 429 that outlives the client's own retries is
// asked again after a pause, so MassPay asking to slow down does not refuse
// a Pay that the CLI would have started.
func (s *Server) balances(ctx context.Context) (ledger.Balances, error) {
	bals, err := routing.FetchBalances(ctx, s.cfg.API)
	if err != nil {
		return nil, err
	}
	out := ledger.Balances{}
	for _, b := range bals {
		out[b.CurrencyCode] = b.Balance
	}
	return out, nil
}

// lockedText names who holds the ledger.
func lockedText(le *ledger.LockedError) string {
	o := le.Owner
	if o.PID == 0 {
		return "Another payrun process is using this ledger right now. One run at a time per ledger: this one was not started."
	}
	cmd := o.Command
	if cmd == "" {
		cmd = "payrun"
	}
	return fmt.Sprintf("The ledger is in use by %q (pid %d on %s, since %s). One run at a time per ledger: this one was not started.",
		cmd, o.PID, o.Host, o.Started.Local().Format("2006-01-02 15:04:05"))
}

// leasedText names the runner whose run lease keeps a PostgreSQL ledger in
// use.
func leasedText(r ledger.RunLease) string {
	return fmt.Sprintf("The ledger is in use by %q (run %d, runner %s, since %s). One run at a time per ledger: this one was not started.",
		r.Command, r.RunID, r.Owner, r.Started.Local().Format("2006-01-02 15:04:05"))
}

// ingestSheet records the sheet's rows in run runID, as payrun run does.
// Conflicts are recorded by the ledger and shown in the results.
func ingestSheet(ctx context.Context, l *ledger.Ledger, runID int64, path string, opts ingest.IngestOptions) error {
	_, err := ingest.RecordSheet(ctx, l, runID, path, opts, nil)
	return err
}
