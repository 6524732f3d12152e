package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sheet files (migration 0012): the bytes of each sheet a console recorded
// a plan for, keyed by their SHA-256. Plans, approvals and runs name a sheet
// by that hash; keeping the bytes here too makes the ledger the one place an
// approved sheet lives, so any console on the ledger can run it and a dead
// host loses none. Consoles keep a copy in their data folder as a cache.
// The bytes hold payees' data: they are as private as the ledger itself.

// ErrSheetCorrupt is returned for stored bytes that no longer hash to the
// SHA-256 they are kept under: never paid from, whatever changed them.
var ErrSheetCorrupt = errors.New("stored sheet does not match its SHA-256")

// SheetFile is one stored sheet.
type SheetFile struct {
	SHA256   string // lower-case hex SHA-256 of Content
	Name     string // the file name first stored for these bytes
	Content  []byte
	StoredAt time.Time
	StoredBy string // who uploaded it (a console user)
}

// StoreSheetFile stores content under its SHA-256 with name, as uploaded by
// by, and returns the stored sheet. Bytes already stored keep their first
// name, time and uploader (the same bytes are the same sheet, whatever a
// second upload called them): storing is idempotent, so two consoles
// storing one upload at once both succeed. name is a base file name.
func (l *Ledger) StoreSheetFile(ctx context.Context, name string, content []byte, by string) (SheetFile, error) {
	sum := sha256.Sum256(content)
	f := SheetFile{SHA256: hex.EncodeToString(sum[:]), Name: name, Content: content, StoredAt: l.now(), StoredBy: by}
	if len(content) == 0 || name == "" || len(name) > 255 || strings.ContainsAny(name, `/\`) {
		return SheetFile{}, fmt.Errorf("store sheet %q: empty, or not a base file name", name)
	}
	err := l.write(ctx, true, func(tx *wtx) error {
		// solo: a sheet may be megabytes; it is not held up in, nor
		// holds up, a group commit of small writes.
		if _, err := tx.exec(`INSERT INTO sheet_files (sha256, name, size, content, stored_at, stored_by)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`,
			f.SHA256, f.Name, int64(len(content)), content, formatTime(f.StoredAt), by); err != nil {
			return err
		}
		var at string
		if err := tx.queryRow(`SELECT name, stored_at, stored_by FROM sheet_files WHERE sha256 = ?`, f.SHA256).
			Scan(&f.Name, &at, &f.StoredBy); err != nil {
			return err
		}
		t, err := parseTime(sql.NullString{String: at, Valid: true})
		f.StoredAt = t
		return err
	})
	if err != nil {
		return SheetFile{}, fmt.Errorf("store sheet %s: %w", name, err)
	}
	return f, nil
}

// SheetFileBySHA256 returns the sheet stored under sum, its bytes checked
// against sum: ErrNotFound when none is stored (a plan recorded before
// migration 0012, or by payrun plan, which keeps no copy), ErrSheetCorrupt
// when the bytes do not hash to sum.
func (l *Ledger) SheetFileBySHA256(ctx context.Context, sum string) (SheetFile, error) {
	f := SheetFile{SHA256: sum}
	var at string
	err := l.rqRow(ctx, `SELECT name, content, stored_at, stored_by FROM sheet_files WHERE sha256 = ?`, sum).
		Scan(&f.Name, &f.Content, &at, &f.StoredBy)
	if err != nil {
		return SheetFile{}, notFound(err, "read sheet "+sum)
	}
	if f.StoredAt, err = parseTime(sql.NullString{String: at, Valid: true}); err != nil {
		return SheetFile{}, fmt.Errorf("read sheet %s: %w", sum, err)
	}
	got := sha256.Sum256(f.Content)
	if hex.EncodeToString(got[:]) != sum {
		return SheetFile{}, fmt.Errorf("read sheet %s: %w", sum, ErrSheetCorrupt)
	}
	return f, nil
}

// HasSheetFile reports whether a sheet is stored under sum, without reading
// its bytes.
func (l *Ledger) HasSheetFile(ctx context.Context, sum string) (bool, error) {
	var n int
	if err := l.rqRow(ctx, `SELECT count(*) FROM sheet_files WHERE sha256 = ?`, sum).Scan(&n); err != nil {
		return false, fmt.Errorf("look up sheet %s: %w", sum, err)
	}
	return n > 0, nil
}
