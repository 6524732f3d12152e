package console

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/pricing"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/batch/validate"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

// homeData is the home page's data.
type homeData struct {
	MaxUpload string
	Plans     []ledger.Plan
	Runs      []runLine
}

// home shows the upload form, recent plans and recent runs.
func (s *Server) home(w http.ResponseWriter, r *http.Request, sess *session) {
	plans, err := s.cfg.Ledger.Plans(r.Context(), ledger.PlanFilter{Limit: 10})
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("list plans")
	}
	runs, err := s.runLines(r.Context(), 10)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("list runs")
	}
	s.render(w, r, http.StatusOK, "home", "Payouts", homeData{MaxUpload: humanBytes(s.cfg.MaxUpload), Plans: plans, Runs: runs})
}

// reportData is the validation report page's data.
type reportData struct {
	Sheet    string
	Rows     int
	Errors   int
	Warnings int
	Problems []problemLine
}

type problemLine struct {
	Line     int
	Column   string
	Value    string
	Message  string
	Severity string
	Text     string // Problem.String(), as the CLI prints it
}

// upload stores a sheet, validates it, and either shows every mistake or
// prices it and records a plan awaiting approval.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, sess *session) {
	f, hdr, err := r.FormFile("sheet")
	if err != nil {
		s.message(w, r, http.StatusBadRequest, "No sheet", "Choose a .csv or .xlsx payout sheet to upload.", "/")
		return
	}
	defer f.Close()
	name, err := cleanSheetName(hdr.Filename)
	if err != nil {
		s.message(w, r, http.StatusUnsupportedMediaType, "Not a payout sheet", "The file must be a .csv or .xlsx payout sheet (download the template with: payrun template).", "/")
		return
	}
	path, sum, err := s.storeSheet(f, name)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("store upload")
		s.message(w, r, http.StatusInternalServerError, "Upload failed", "The sheet could not be stored. Try again.", "/")
		return
	}
	// Refused uploads are removed after a retention period; one that
	// records a plan is kept with it.
	planned := false
	defer func() {
		if !planned {
			s.markRefused(context.WithoutCancel(r.Context()), sum)
		}
		s.sweepRefused()
	}()
	name = filepath.Base(path)
	rep, err := ingest.ValidateFile(path, s.ingestOptions(), validate.ValidateOptions{})
	if err != nil {
		s.record(r, sess.user, "upload", 0, fmt.Sprintf("%s uploaded %s, which cannot be read as a sheet", sess.user, name), map[string]string{"sha256": sum})
		s.message(w, r, http.StatusUnprocessableEntity, "Not a payout sheet", "The file could not be read as a payout sheet: "+err.Error(), "/")
		return
	}
	d := reportData{Sheet: name, Rows: rep.Rows, Errors: rep.Problems.Errors(), Warnings: rep.Problems.Warnings()}
	for _, p := range rep.Problems {
		d.Problems = append(d.Problems, problemLine{Line: p.Line, Column: p.Column, Value: p.Value, Message: p.Message, Severity: p.Severity.String(), Text: p.String()})
	}
	if !rep.OK() {
		s.record(r, sess.user, "upload", 0, fmt.Sprintf("%s uploaded %s: %s, %s; nothing planned", sess.user, name, plural.Count(rep.Rows, "row"), plural.Count(d.Errors, "mistake")),
			map[string]string{"sha256": sum, "valid": "false"})
		s.render(w, r, http.StatusUnprocessableEntity, "report", "Mistakes in "+name, d)
		return
	}
	if s.cfg.API == nil {
		s.message(w, r, http.StatusServiceUnavailable, "No MassPay connection", "The sheet is valid, but this console has no MassPay connection to price it.", "/")
		return
	}
	plan, err := pricing.MakePlanWith(r.Context(), s.cfg.API, ingest.SheetRows(path, s.ingestOptions()),
		pricing.PlanOptions{CheckDetails: true, Ledger: s.cfg.Ledger})
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("price sheet")
		s.message(w, r, http.StatusBadGateway, "Pricing failed", "MassPay could not price the sheet: "+err.Error(), "/")
		return
	}
	// The sheet goes into the ledger before its plan: no plan is recorded
	// that a console on the ledger could not run.
	if err := s.shareSheet(r.Context(), path, sess.user); err != nil {
		s.cfg.Log.Error().Err(err).Msg("store sheet in the ledger")
		s.message(w, r, http.StatusInternalServerError, "Plan not recorded", "The sheet could not be stored in the ledger: "+err.Error(), "/")
		return
	}
	rec, err := s.cfg.Ledger.RecordPlan(r.Context(), ledger.PlanInfo{
		SheetName: name, SheetSHA256: sum, Rows: plan.Rows, Totals: plan.Requested, Environment: s.cfg.Environment,
		PreparedBy: sess.user, Note: "web console upload from " + clientIP(r),
	})
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("record plan")
		s.message(w, r, http.StatusInternalServerError, "Plan not recorded", "The plan could not be recorded in the ledger: "+err.Error(), "/")
		return
	}
	planned = true
	s.mu.Lock()
	s.priced[rec.ID] = plan
	s.mu.Unlock()
	if s.cfg.OnPlanRecorded != nil {
		go s.cfg.OnPlanRecorded(context.WithoutCancel(r.Context()), rec, plan)
	}
	if err := results.WritePlan(s.planWorkbookPath(rec.ID), plan); err != nil {
		s.cfg.Log.Error().Err(err).Msg("write plan workbook")
	}
	// RecordPlan wrote the plan's event, naming sess.user as its preparer.
	http.Redirect(w, r, fmt.Sprintf("/plans/%d", rec.ID), http.StatusSeeOther)
}

func (s *Server) planWorkbookPath(id int64) string {
	return filepath.Join(s.cfg.DataDir, dirPlans, fmt.Sprintf("plan-%d.xlsx", id))
}

// totalsText is "1,234.00 USD, 10.00 EUR".
func totalsText(m map[string]decimal.Decimal) string {
	var parts []string
	for _, cur := range sortedKeys(m) {
		parts = append(parts, formatMoney(m[cur], cur))
	}
	return strings.Join(parts, ", ")
}

// planData is the plan page's data.
type planData struct {
	Plan       ledger.Plan
	Priced     bool
	PriceError string
	Currencies []currencyLine
	Quotes     []results.Quote
	NoRoute    []results.Quote
	// NeedDetails are the payout rows the run would leave NEEDS_ACTION for
	// a missing payee detail; Unchecked the rows checked only at run time.
	NeedDetails []results.Quote
	Unchecked   int
	Loads       int
	Payouts     int
	OK          bool
	// What the viewer may do.
	CanApprove bool
	SelfPlan   bool // the viewer prepared it: approval is someone else's
	CanRun     bool
	Workbook   bool
	// Left is how many rows a run would still work on; Earlier says what
	// of the sheet the ledger already holds as paid, and NothingLeft that
	// all of it is, so the page offers no Pay button.
	Left        int
	Earlier     string
	NothingLeft bool
}

type currencyLine struct {
	Currency  string
	Requested decimal.Decimal
	Fees      decimal.Decimal
	Balance   decimal.Decimal
	Shortfall decimal.Decimal
	Short     bool
}

// planPage shows a plan: totals, fees and rates, the balance check, and the
// approve and run buttons the viewer's role and the plan's state allow.
func (s *Server) planPage(w http.ResponseWriter, r *http.Request, sess *session) {
	rec, ok := s.planFromPath(w, r)
	if !ok {
		return
	}
	d := planData{Plan: rec}
	plan, err := s.pricedPlan(r.Context(), rec)
	if err != nil {
		d.PriceError = err.Error()
	} else {
		d.Priced, d.OK = true, plan.OK()
		d.Loads, d.Payouts = plan.ByMethod[sheet.MethodLoad], plan.ByMethod[sheet.MethodPayout]
		for _, cur := range plan.Currencies() {
			sf, short := plan.Shortfall[cur]
			d.Currencies = append(d.Currencies, currencyLine{Currency: cur, Requested: plan.Requested[cur], Fees: plan.Fees[cur],
				Balance: plan.Balances[cur], Shortfall: sf, Short: short})
		}
		d.Quotes, d.NoRoute = plan.Quotes, plan.NoRoute
		d.NeedDetails, d.Unchecked = plan.NeedDetails, plan.DetailsUnchecked
	}
	d.Left = rec.Rows
	if path, err := s.sheetFile(r.Context(), rec.SheetSHA256); err == nil {
		if st, err := reconcile.SheetStanding(r.Context(), s.cfg.Ledger, ingest.SheetRows(path, s.ingestOptions())); err == nil {
			d.Left, d.Earlier, d.NothingLeft = st.Left(), st.Text(), st.NothingLeft()
		} else {
			s.cfg.Log.Error().Err(err).Msg("read the sheet's standing in the ledger")
		}
	}
	d.SelfPlan = strings.EqualFold(rec.PreparedBy, sess.user)
	d.CanApprove = rec.Status == ledger.PlanPending && canApprove(sess.role) && !d.SelfPlan
	d.CanRun = rec.Status == ledger.PlanApproved && canPrepare(sess.role) && !d.NothingLeft
	if _, err := os.Stat(s.planWorkbookPath(rec.ID)); err == nil || d.Priced {
		d.Workbook = true // written at upload, or from the quote just shown
	}
	s.render(w, r, http.StatusOK, "plan", fmt.Sprintf("Plan %d: %s", rec.ID, rec.SheetName), d)
}

// pricedPlan returns the plan's quote as priced at upload, or prices the
// stored sheet again (after a restart, or for a plan recorded by payrun plan).
func (s *Server) pricedPlan(ctx context.Context, rec ledger.Plan) (*results.Plan, error) {
	s.mu.Lock()
	p := s.priced[rec.ID]
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	path, err := s.sheetFile(ctx, rec.SheetSHA256)
	if err != nil {
		return nil, errors.New("the sheet of this plan is stored neither in this console nor in the ledger (it was planned by payrun plan, or before the ledger kept sheets); its totals are shown as recorded")
	}
	if s.cfg.API == nil {
		return nil, errors.New("no MassPay connection to price the sheet")
	}
	p, err = pricing.MakePlanWith(ctx, s.cfg.API, ingest.SheetRows(path, s.ingestOptions()),
		pricing.PlanOptions{CheckDetails: true, Ledger: s.cfg.Ledger})
	if err != nil {
		return nil, fmt.Errorf("price the sheet: %w", err)
	}
	s.mu.Lock()
	s.priced[rec.ID] = p
	s.mu.Unlock()
	return p, nil
}

// planFromPath reads the plan the URL names, answering 404 itself.
func (s *Server) planFromPath(w http.ResponseWriter, r *http.Request) (ledger.Plan, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.message(w, r, http.StatusNotFound, "No such plan", "There is no plan "+r.PathValue("id")+".", "/")
		return ledger.Plan{}, false
	}
	rec, err := s.cfg.Ledger.Plan(r.Context(), id)
	if err != nil {
		if errors.Is(err, ledger.ErrNotFound) {
			s.message(w, r, http.StatusNotFound, "No such plan", fmt.Sprintf("There is no plan %d.", id), "/")
		} else {
			s.cfg.Log.Error().Err(err).Msg("read plan")
			s.message(w, r, http.StatusInternalServerError, "Plan unreadable", "The plan could not be read from the ledger.", "/")
		}
		return ledger.Plan{}, false
	}
	return rec, true
}

// planWorkbook downloads the plan workbook written at upload.
func (s *Server) planWorkbook(w http.ResponseWriter, r *http.Request, sess *session) {
	rec, ok := s.planFromPath(w, r)
	if !ok {
		return
	}
	path := s.planWorkbookPath(rec.ID)
	if _, err := os.Stat(path); err != nil {
		// Uploaded on another console (or written before a restart
		// that lost it): written from the quote the plan page shows,
		// priced again from the ledger's copy of the sheet.
		p, perr := s.pricedPlan(r.Context(), rec)
		if perr == nil {
			perr = results.WritePlan(path, p)
		}
		if perr != nil {
			s.message(w, r, http.StatusNotFound, "No workbook", "This console has no workbook for this plan: "+perr.Error(), fmt.Sprintf("/plans/%d", rec.ID))
			return
		}
	}
	s.record(r, sess.user, "download", 0, fmt.Sprintf("%s downloaded the workbook of plan %d", sess.user, rec.ID), map[string]string{"plan_id": strconv.FormatInt(rec.ID, 10)})
	serveAttachment(w, r, path, fmt.Sprintf("plan-%d.xlsx", rec.ID))
}

// approve records the viewer's approval of someone else's plan.
func (s *Server) approve(w http.ResponseWriter, r *http.Request, sess *session) {
	rec, ok := s.planFromPath(w, r)
	if !ok {
		return
	}
	back := fmt.Sprintf("/plans/%d", rec.ID)
	extra := map[string]string{"plan_id": strconv.FormatInt(rec.ID, 10), "sha256": rec.SheetSHA256}
	// Checked here for a clear page, and again by the store, which is the
	// rule's real keeper.
	if strings.EqualFold(rec.PreparedBy, sess.user) {
		s.record(r, sess.user, "approve_refused", 0, fmt.Sprintf("%s tried to approve plan %d, which they prepared; refused", sess.user, rec.ID), extra)
		s.message(w, r, http.StatusForbidden, "Someone else must approve",
			"You prepared this plan, so you cannot approve it. Ask another approver: a payout batch is never approved by the person who prepared it.", back)
		return
	}
	// allowSelf is false, always: the console has no self-approval switch.
	_, err := s.cfg.Ledger.ApprovePlan(r.Context(), rec.ID, sess.user, false)
	switch {
	case errors.Is(err, ledger.ErrSelfApproval):
		s.record(r, sess.user, "approve_refused", 0, fmt.Sprintf("%s tried to approve plan %d, which they prepared; refused", sess.user, rec.ID), extra)
		s.message(w, r, http.StatusForbidden, "Someone else must approve", "You prepared this plan, so you cannot approve it.", back)
		return
	case errors.Is(err, ledger.ErrPlanDecided):
		s.message(w, r, http.StatusConflict, "Already decided", fmt.Sprintf("Plan %d is %s already.", rec.ID, rec.Status), back)
		return
	case err != nil:
		s.cfg.Log.Error().Err(err).Msg("approve plan")
		s.message(w, r, http.StatusInternalServerError, "Not approved", "The approval could not be recorded: "+err.Error(), back)
		return
	}
	// ApprovePlan wrote the approval's event, naming sess.user.
	http.Redirect(w, r, back+"?msg=approved", http.StatusSeeOther)
}

// reject records the viewer's rejection of a plan, with a reason.
func (s *Server) reject(w http.ResponseWriter, r *http.Request, sess *session) {
	rec, ok := s.planFromPath(w, r)
	if !ok {
		return
	}
	back := fmt.Sprintf("/plans/%d", rec.ID)
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if len(reason) > 500 {
		reason = reason[:500]
	}
	if _, err := s.cfg.Ledger.RejectPlan(r.Context(), rec.ID, sess.user, reason); err != nil {
		if errors.Is(err, ledger.ErrPlanDecided) {
			s.message(w, r, http.StatusConflict, "Already decided", fmt.Sprintf("Plan %d is %s already.", rec.ID, rec.Status), back)
			return
		}
		s.cfg.Log.Error().Err(err).Msg("reject plan")
		s.message(w, r, http.StatusInternalServerError, "Not rejected", "The rejection could not be recorded: "+err.Error(), back)
		return
	}
	// RejectPlan wrote the rejection's event, naming sess.user.
	http.Redirect(w, r, back+"?msg=rejected", http.StatusSeeOther)
}

// serveAttachment sends the file at path as a download named name.
func serveAttachment(w http.ResponseWriter, r *http.Request, path, name string) {
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, "file not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "file not readable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
