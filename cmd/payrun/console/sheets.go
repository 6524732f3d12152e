package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/payrun/payrun/batch/ingest"
	"github.com/payrun/payrun/ledger"
)

// Uploaded sheets are kept as DataDir/sheets/<sha256>/<file name>: the hash
// is what plans, approvals and runs name, and the file name is what
// validation problems and results show a person.
//
// The ledger is where a planned sheet lives (ledger.StoreSheetFile, stored
// before its plan is recorded); the data folder is a cache of it. Several
// consoles behind a load balancer, each with its own data folder, then run
// a plan whichever of them it was uploaded on, and a host that dies takes
// no approved sheet with it: sheetFile takes a sheet missing here from the
// ledger. Refused uploads are never stored in the ledger; they stay here
// only, until swept.

// DefaultRefusedRetention is how long an upload that was refused (not a
// sheet, mistakes, not priced) is kept for a second look before
// sweepRefused removes it. Its events stay in the ledger; the file, full of
// payees' data and never to be paid, does not stay forever.
const DefaultRefusedRetention = 7 * 24 * time.Hour

// refusedMarker, in a stored sheet's folder, holds the time the upload was
// last refused. A sheet that a plan names has none.
const refusedMarker = ".refused"

// errSheetType refuses a file that is neither CSV nor XLSX by name.
var errSheetType = errors.New("a payout sheet is a .csv or .xlsx file")

// unsafeName matches characters a stored file name must not hold.
var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._ -]+`)

// cleanSheetName makes an uploaded file's name safe to store and show: its
// base name only, odd characters replaced, at most 100 characters, and a
// .csv or .xlsx extension.
func cleanSheetName(name string) (string, error) {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	ext := strings.ToLower(filepath.Ext(name))
	if ext != ".csv" && ext != ".xlsx" {
		return "", errSheetType
	}
	stem := strings.TrimSpace(unsafeName.ReplaceAllString(strings.TrimSuffix(name, filepath.Ext(name)), "_"))
	stem = strings.TrimLeft(stem, ".")
	if stem == "" {
		stem = "sheet"
	}
	if len(stem) > 100 {
		stem = stem[:100]
	}
	return stem + ext, nil
}

// storeSheet copies an upload into the sheet store and returns where it is
// and its SHA-256. The same bytes uploaded twice land in the same place.
func (s *Server) storeSheet(src io.Reader, name string) (path, sum string, err error) {
	dir := filepath.Join(s.cfg.DataDir, dirSheets)
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return "", "", fmt.Errorf("store sheet: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), src); err != nil {
		tmp.Close()
		return "", "", fmt.Errorf("store sheet: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", "", fmt.Errorf("store sheet: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", "", fmt.Errorf("store sheet: %w", err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	sheetDir := filepath.Join(dir, sum)
	if err := os.MkdirAll(sheetDir, 0o700); err != nil {
		return "", "", fmt.Errorf("store sheet: %w", err)
	}
	// The same bytes refused before are being looked at again: not swept
	// from under this upload (it marks them again if it refuses them).
	s.sweepMu.Lock()
	_ = os.Remove(filepath.Join(sheetDir, refusedMarker))
	s.sweepMu.Unlock()
	if existing, err := s.localSheet(sum); err == nil {
		return existing, sum, nil // the same bytes, kept under their first name
	}
	path = filepath.Join(sheetDir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", "", fmt.Errorf("store sheet: %w", err)
	}
	return path, sum, nil
}

// sheetFile returns the stored sheet whose SHA-256 is sum: from the data
// folder, or, when it is not there (uploaded on another console, or this
// folder lost with its host), from the ledger, whose bytes are checked
// against sum and kept in the data folder from then on.
func (s *Server) sheetFile(ctx context.Context, sum string) (string, error) {
	path, err := s.localSheet(sum)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return path, err
	}
	f, lerr := s.cfg.Ledger.SheetFileBySHA256(ctx, sum)
	if lerr != nil {
		if errors.Is(lerr, ledger.ErrNotFound) {
			return "", err // neither here nor in the ledger
		}
		return "", fmt.Errorf("find sheet %s: %w", sum, lerr)
	}
	return s.cacheSheet(f)
}

// cacheSheet writes a sheet read from the ledger into the data folder, as
// storeSheet would have: the folder 0700, the file 0600 (it holds payees'
// data), written whole before it appears under its name.
func (s *Server) cacheSheet(f ledger.SheetFile) (string, error) {
	// The ledger's name went through cleanSheetName on the console that
	// stored it; cleaned again all the same, as it names a file here.
	name, err := cleanSheetName(f.Name)
	if err != nil {
		return "", fmt.Errorf("cache sheet %s: name %q: %w", f.SHA256, f.Name, err)
	}
	dir := filepath.Join(s.cfg.DataDir, dirSheets)
	tmp, err := os.CreateTemp(dir, ".cache-*") // mode 0600
	if err != nil {
		return "", fmt.Errorf("cache sheet %s: %w", f.SHA256, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(f.Content); err != nil {
		tmp.Close()
		return "", fmt.Errorf("cache sheet %s: %w", f.SHA256, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("cache sheet %s: %w", f.SHA256, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("cache sheet %s: %w", f.SHA256, err)
	}
	// Under sweepMu: a sweep must not remove the folder between its
	// creation and the rename.
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	sheetDir := filepath.Join(dir, f.SHA256)
	if err := os.MkdirAll(sheetDir, 0o700); err != nil {
		return "", fmt.Errorf("cache sheet %s: %w", f.SHA256, err)
	}
	// A sheet the ledger holds was planned: an old refusal of the same
	// bytes here no longer applies.
	_ = os.Remove(filepath.Join(sheetDir, refusedMarker))
	if existing, err := s.localSheet(f.SHA256); err == nil {
		return existing, nil // another request cached it meanwhile
	}
	path := filepath.Join(sheetDir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("cache sheet %s: %w", f.SHA256, err)
	}
	return path, nil
}

// shareSheet stores the sheet at path, uploaded by user, in the ledger, so
// that every console on the ledger can run the plan recorded for it.
func (s *Server) shareSheet(ctx context.Context, path, user string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("store sheet in the ledger: %w", err)
	}
	if _, err := s.cfg.Ledger.StoreSheetFile(ctx, filepath.Base(path), b, user); err != nil {
		return fmt.Errorf("store sheet in the ledger: %w", err)
	}
	return nil
}

// shareLocalSheets stores in the ledger every planned sheet of the data
// folder that the ledger lacks: sheets uploaded before the ledger held
// sheets (migration 0012) become runnable from every console. It runs once,
// in the background, when the console starts; a refused upload (marked) is
// not shared.
func (s *Server) shareLocalSheets() {
	defer s.wg.Done()
	ctx := s.stop
	dir := filepath.Join(s.cfg.DataDir, dirSheets)
	ents, err := os.ReadDir(dir)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("share stored sheets")
		return
	}
	shared := 0
	for _, e := range ents {
		if !e.IsDir() || ctx.Err() != nil {
			continue
		}
		sum := e.Name()
		if _, err := os.Stat(filepath.Join(dir, sum, refusedMarker)); err == nil {
			continue
		}
		path, err := s.localSheet(sum)
		if err != nil {
			continue
		}
		if ok, err := s.cfg.Ledger.HasSheetFile(ctx, sum); err != nil || ok {
			continue
		}
		// Only bytes that still hash to their folder's name go to the
		// ledger, which every console then trusts.
		if got, err := ingest.FileSHA256(path); err != nil || got != sum {
			s.cfg.Log.Warn().Str("sha256", sum).Msg("stored sheet does not match its hash; not shared")
			continue
		}
		if err := s.shareSheet(ctx, path, ""); err != nil {
			s.cfg.Log.Error().Err(err).Str("sha256", sum).Msg("share stored sheet")
			continue
		}
		shared++
	}
	if shared > 0 {
		s.cfg.Log.Info().Int("sheets", shared).Msg("stored sheets of this console's data folder in the ledger")
	}
}

// localSheet returns the sheet whose SHA-256 is sum from the data folder
// only.
func (s *Server) localSheet(sum string) (string, error) {
	if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
		return "", fmt.Errorf("find sheet: bad hash %q", sum)
	}
	ents, err := os.ReadDir(filepath.Join(s.cfg.DataDir, dirSheets, sum))
	if err != nil {
		return "", fmt.Errorf("find sheet %s: %w", sum, err)
	}
	for _, e := range ents {
		// Not the refused marker, which sorts first: a stored sheet's
		// name never starts with a dot (cleanSheetName).
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			return filepath.Join(s.cfg.DataDir, dirSheets, sum, e.Name()), nil
		}
	}
	return "", fmt.Errorf("find sheet %s: %w", sum, os.ErrNotExist)
}

// markRefused records that the upload stored under sum was refused now, so
// sweepRefused removes it once the retention has passed. Bytes the ledger
// holds were planned before (this upload repeated them): they are not
// marked, as a plan names them.
func (s *Server) markRefused(ctx context.Context, sum string) {
	if planned, err := s.cfg.Ledger.HasSheetFile(ctx, sum); err != nil || planned {
		return // in doubt, kept: a sheet kept too long beats an approved one lost
	}
	p := filepath.Join(s.cfg.DataDir, dirSheets, sum, refusedMarker)
	if err := os.WriteFile(p, []byte(s.now().UTC().Format(time.RFC3339Nano)), 0o600); err != nil {
		s.cfg.Log.Error().Err(err).Msg("mark refused upload")
	}
}

// sweepRefused removes every stored upload refused longer than the
// retention ago. It runs when the console starts, after every upload and
// every hour.
func (s *Server) sweepRefused() {
	dir := filepath.Join(s.cfg.DataDir, dirSheets)
	ents, err := os.ReadDir(dir)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("sweep refused uploads")
		return
	}
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	now := s.now()
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), refusedMarker))
		if err != nil {
			continue // planned, or being stored
		}
		at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
		if err == nil && now.Sub(at) < s.cfg.RefusedRetention {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			s.cfg.Log.Error().Err(err).Msg("remove refused upload")
		}
	}
}

// sweepEvery runs sweepRefused every interval until the console stops.
func (s *Server) sweepEvery(interval time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop.Done():
			return
		case <-t.C:
			s.sweepRefused()
			s.sweepAuth(s.stop)
		}
	}
}
