package console

import (
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
)

// Uploaded sheets are kept as DataDir/sheets/<sha256>/<file name>: the hash
// is what plans, approvals and runs name, and the file name is what
// validation problems and results show a person.

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
	if existing, err := s.sheetFile(sum); err == nil {
		return existing, sum, nil // the same bytes, kept under their first name
	}
	path = filepath.Join(sheetDir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", "", fmt.Errorf("store sheet: %w", err)
	}
	return path, sum, nil
}

// sheetFile returns the stored sheet whose SHA-256 is sum.
func (s *Server) sheetFile(sum string) (string, error) {
	if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
		return "", fmt.Errorf("find sheet: bad hash %q", sum)
	}
	ents, err := os.ReadDir(filepath.Join(s.cfg.DataDir, dirSheets, sum))
	if err != nil {
		return "", fmt.Errorf("find sheet %s: %w", sum, err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			return filepath.Join(s.cfg.DataDir, dirSheets, sum, e.Name()), nil
		}
	}
	return "", fmt.Errorf("find sheet %s: %w", sum, os.ErrNotExist)
}

// markRefused records that the upload stored under sum was refused now, so
// sweepRefused removes it once the retention has passed.
func (s *Server) markRefused(sum string) {
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
