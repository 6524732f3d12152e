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
)

// Uploaded sheets are kept as DataDir/sheets/<sha256>/<file name>: the hash
// is what plans, approvals and runs name, and the file name is what
// validation problems and results show a person.

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
