package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/batch/reconcile"
	"github.com/payrun/payrun/batch/results"
	"github.com/payrun/payrun/ledger"
)

// defaultResultsPageRows is how many rows one results page shows unless
// Config.ResultsPageRows says otherwise; further rows are on the next pages
// (?page=2), and the workbook has them all.
const defaultResultsPageRows = 1000

// runData is the run page's data: progress while it runs, results after.
type runData struct {
	Run      ledger.Run
	Running  bool
	Progress progressJSON
	// Results, once the run has ended.
	Summary results.ResultsSummary
	Header  []string
	Rows    [][]resultCell
	Filter  string // "" or "needs-action"
	// Paging: the rows shown are From..To of Matching (1-based), page Page
	// of Pages; PrevURL and NextURL are "" at the ends.
	Page, Pages        int
	From, To, Matching int
	PrevURL, NextURL   string
	ResultsErr         string
}

// resultCell is one cell of the results table.
type resultCell struct {
	Text  string
	Link  bool   // a KYC upload link: clickable
	RowID string // set on the client_transfer_id cell: links to the row's trail
	Class string
}

// runPage shows a run: live progress while it is running, then its results
// with the same columns as the results workbook.
func (s *Server) runPage(w http.ResponseWriter, r *http.Request, sess *session) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	d := runData{Run: run, Running: run.Status == ledger.RunRunning}
	p, err := s.progressOf(r.Context(), run)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("run progress")
	}
	d.Progress = p
	if !d.Running {
		d.Filter = r.URL.Query().Get("show")
		if d.Filter != "needs-action" {
			d.Filter = ""
		}
		d.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
		if d.Page < 1 {
			d.Page = 1
		}
		if err := s.fillResults(r.Context(), &d); err != nil {
			s.cfg.Log.Error().Err(err).Msg("read results")
			d.ResultsErr = err.Error()
		}
	}
	s.render(w, r, http.StatusOK, "run", fmt.Sprintf("Run %d: %s", run.ID, run.SheetName), d)
}

// fillResults reads the run's results as the results CSV has them: written
// by results.WriteResults from the ledger, so the page and the workbook never
// disagree.
func (s *Server) fillResults(ctx context.Context, d *runData) error {
	dir, err := os.MkdirTemp(filepath.Join(s.cfg.DataDir, dirResults), ".view-*")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "results.csv")
	sum, err := results.WriteResults(ctx, s.cfg.Ledger, d.Run.ID, path, results.ResultsOptions{Format: ingest.FormatCSV})
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	d.Summary = sum
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("results: read header: %w", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	// The page shows the workbook's columns in the workbook's order, which
	// puts what a person looks for first: the id, payee, amount, result,
	// next step and KYC link, then the sheet's own columns.
	d.Header = header
	// batch names the sheet's own columns apart from payrun's (a sheet's
	// "result" is echoed as "sheet:result"); looking from the left finds
	// payrun's column even if that ever failed, since they come first.
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		return -1
	}
	resCol, kycCol, idCol := col("result"), col("kyc_upload_link"), col("client_transfer_id")
	perPage := s.cfg.ResultsPageRows
	if perPage <= 0 {
		perPage = defaultResultsPageRows
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("results: %w", err)
		}
		kind := results.ResultKind("")
		if resCol >= 0 && resCol < len(rec) {
			kind = results.ResultKind(rec[resCol])
		}
		if d.Filter == "needs-action" && !kind.NeedsPerson() {
			continue
		}
		d.Matching++
		if d.Matching <= (d.Page-1)*perPage || d.Matching > d.Page*perPage {
			continue
		}
		cells := make([]resultCell, 0, len(header))
		for i := range header {
			v := ""
			if i < len(rec) {
				v = rec[i]
			}
			c := resultCell{Text: v}
			switch i {
			case kycCol:
				c.Link = strings.HasPrefix(v, "https://")
			case idCol:
				c.RowID = v
			case resCol:
				c.Class = "st-" + strings.ToLower(strings.ReplaceAll(v, "_", "-"))
			}
			cells = append(cells, c)
		}
		d.Rows = append(d.Rows, cells)
	}
	d.Pages = max(1, (d.Matching+perPage-1)/perPage)
	if len(d.Rows) > 0 {
		d.From = (d.Page-1)*perPage + 1
		d.To = d.From + len(d.Rows) - 1
	}
	pageURL := func(p int) string {
		q := url.Values{}
		if d.Filter != "" {
			q.Set("show", d.Filter)
		}
		if p > 1 {
			q.Set("page", strconv.Itoa(p))
		}
		u := fmt.Sprintf("/runs/%d", d.Run.ID)
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		return u
	}
	if d.Page > 1 {
		d.PrevURL = pageURL(min(d.Page-1, d.Pages))
	}
	if d.Page < d.Pages {
		d.NextURL = pageURL(d.Page + 1)
	}
	return nil
}

// runFromPath reads the run the URL names, answering 404 itself. A run
// whose runner is gone comes back as runInterrupted (markInterrupted).
func (s *Server) runFromPath(w http.ResponseWriter, r *http.Request) (ledger.Run, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil && id > 0 {
		run, err := s.cfg.Ledger.Run(r.Context(), id)
		if err == nil {
			one := []ledger.Run{run}
			s.markInterrupted(r.Context(), one, nil)
			return one[0], true
		}
		if !errors.Is(err, ledger.ErrNotFound) {
			s.cfg.Log.Error().Err(err).Msg("read run")
			s.message(w, r, http.StatusInternalServerError, "Run unreadable", "The run could not be read from the ledger.", "/runs")
			return ledger.Run{}, false
		}
	}
	s.message(w, r, http.StatusNotFound, "No such run", "There is no run "+r.PathValue("id")+".", "/runs")
	return ledger.Run{}, false
}

// progressJSON is a run's progress as the page's script polls it.
type progressJSON struct {
	Run      int64        `json:"run"`
	Status   string       `json:"status"`
	Running  bool         `json:"running"`
	Total    int          `json:"total"`
	Done     int          `json:"done"`
	Percent  int          `json:"percent"`
	States   []stateCount `json:"states"`
	Rate     string       `json:"rate"` // rows per second, for a person
	ETA      string       `json:"eta"`
	Elapsed  string       `json:"elapsed"`
	LastSeen string       `json:"last_seen,omitempty"`
}

type stateCount struct {
	State string `json:"state"`
	N     int    `json:"n"`
	Class string `json:"class"`
}

// progress answers the run's progress as JSON, for the page's script.
func (s *Server) progress(w http.ResponseWriter, r *http.Request, sess *session) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	p, err := s.progressOf(r.Context(), run)
	if err != nil {
		http.Error(w, `{"error":"progress unavailable"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(p)
}

// progressOf counts the run's rows by state in the ledger. Reading the
// ledger rather than this process's memory is what makes the page right for
// a run cron started too.
func (s *Server) progressOf(ctx context.Context, run ledger.Run) (progressJSON, error) {
	p := progressJSON{Run: run.ID, Status: string(run.Status), Running: run.Status == ledger.RunRunning}
	counts, err := s.cfg.Ledger.Counts(ctx, run.ID)
	if err != nil {
		return p, err
	}
	for _, st := range ledger.States {
		n := counts[st]
		if n == 0 {
			continue
		}
		p.Total += n
		if st.Final() {
			p.Done += n
		}
		p.States = append(p.States, stateCount{State: string(st), N: n, Class: "st-" + strings.ToLower(strings.ReplaceAll(string(st), "_", "-"))})
	}
	if p.Total > 0 {
		p.Percent = p.Done * 100 / p.Total
	}
	end := run.FinishedAt
	if end.IsZero() {
		end = s.now()
	}
	elapsed := end.Sub(run.StartedAt)
	if elapsed < 0 {
		elapsed = 0
	}
	p.Elapsed = elapsed.Round(time.Second).String()
	if secs := elapsed.Seconds(); secs >= 1 && p.Done > 0 {
		rate := float64(p.Done) / secs // display only; never money
		p.Rate = fmt.Sprintf("%.1f rows/s", rate)
		if p.Running && p.Done < p.Total {
			p.ETA = (time.Duration(float64(p.Total-p.Done)/rate) * time.Second).Round(time.Second).String()
		}
	}
	return p, nil
}

// download sends the run's results workbook, written afresh from the ledger
// (reconcile may have learnt more since the run ended).
func (s *Server) download(w http.ResponseWriter, r *http.Request, sess *session) {
	run, ok := s.runFromPath(w, r)
	if !ok {
		return
	}
	sum, err := s.writeResults(r.Context(), run.ID)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("write results")
		s.message(w, r, http.StatusInternalServerError, "No workbook", "The results workbook could not be written: "+err.Error(), fmt.Sprintf("/runs/%d", run.ID))
		return
	}
	name := results.DefaultResultsPath(filepath.Base(run.SheetName), ingest.FormatXLSX)
	s.record(r, sess.user, "download", run.ID, fmt.Sprintf("%s downloaded the results of run %d", sess.user, run.ID), nil)
	serveAttachment(w, r, sum.Path, filepath.Base(name))
}

// writeResults writes run runID's results workbook into the data directory.
func (s *Server) writeResults(ctx context.Context, runID int64) (results.ResultsSummary, error) {
	path := s.resultsPath(runID)
	flips, _ := reconcile.LedgerFlips(ctx, s.cfg.Ledger, runID)
	return results.WriteResults(ctx, s.cfg.Ledger, runID, path, results.ResultsOptions{Format: ingest.FormatXLSX, Flips: flips})
}

// resultsPath is where run runID's results workbook is kept.
func (s *Server) resultsPath(runID int64) string {
	return filepath.Join(s.cfg.DataDir, dirResults, fmt.Sprintf("run-%d.results.xlsx", runID))
}
