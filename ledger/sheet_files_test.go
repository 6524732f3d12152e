package ledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"testing"

	"github.com/payrun/payrun/ledger"
)

// A sheet stored by one console is read back by another on the same ledger,
// byte for byte, under its SHA-256; the same bytes stored again keep their
// first name; an unknown hash is ErrNotFound.
func TestSheetFilesSharedBetweenOpens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a, b, _, _ := openPair(t, be)
		content := []byte("client_transfer_id,amount\nT-1,10.00\n\x00\xff binary-safe\n")
		sum := sha256.Sum256(content)
		want := hex.EncodeToString(sum[:])

		if ok, err := b.HasSheetFile(ctx, want); err != nil || ok {
			t.Fatalf("HasSheetFile before storing = %v, %v", ok, err)
		}
		if _, err := b.SheetFileBySHA256(ctx, want); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("SheetFileBySHA256 before storing = %v, want ErrNotFound", err)
		}
		f, err := a.StoreSheetFile(ctx, "june.csv", content, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if f.SHA256 != want || f.Name != "june.csv" || f.StoredBy != "alice" || f.StoredAt.IsZero() {
			t.Fatalf("stored %+v", f)
		}
		got, err := b.SheetFileBySHA256(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Content) != string(content) || got.Name != "june.csv" || got.StoredBy != "alice" || !got.StoredAt.Equal(f.StoredAt) {
			t.Fatalf("read back %q %q %q %v", got.Content, got.Name, got.StoredBy, got.StoredAt)
		}
		if ok, err := b.HasSheetFile(ctx, want); err != nil || !ok {
			t.Fatalf("HasSheetFile after storing = %v, %v", ok, err)
		}

		// The same bytes under another name, from the other console: the
		// first name stays.
		again, err := b.StoreSheetFile(ctx, "copy of june.csv", content, "bob")
		if err != nil {
			t.Fatal(err)
		}
		if again.Name != "june.csv" || again.StoredBy != "alice" || !again.StoredAt.Equal(f.StoredAt) {
			t.Fatalf("second store of the same bytes = %+v, want the first name, uploader and time", again)
		}

		for _, bad := range []struct{ name, content string }{{"", "x"}, {"a/b.csv", "x"}, {`a\b.csv`, "x"}, {"empty.csv", ""}} {
			if _, err := a.StoreSheetFile(ctx, bad.name, []byte(bad.content), "alice"); err == nil {
				t.Errorf("StoreSheetFile(%q, %d bytes) accepted", bad.name, len(bad.content))
			}
		}
	})
}

// Two consoles storing one upload at once both succeed, and one row holds it.
func TestSheetFilesConcurrentStore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		a, b, loc, _ := openPair(t, be)
		content := []byte("client_transfer_id,amount\nT-2,20.00\n")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			l := a
			if i%2 == 1 {
				l = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = l.StoreSheetFile(ctx, "july.csv", content, "alice")
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("store %d: %v", i, err)
			}
		}
		var n int
		if err := rawDB(t, loc).QueryRow(`SELECT count(*) FROM sheet_files`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("sheet_files rows = %d, %v; want 1", n, err)
		}
	})
}

// Bytes changed behind the ledger's back are refused, not handed out to be
// paid; the table's checks refuse a malformed row from any writer.
func TestSheetFilesCorruptAndChecks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ctx := context.Background()
		l, loc := be.openTemp(t)
		content := []byte("client_transfer_id,amount\nT-3,30.00\n")
		f, err := l.StoreSheetFile(ctx, "aug.csv", content, "alice")
		if err != nil {
			t.Fatal(err)
		}
		db := rawDB(t, loc)
		changed := []byte("client_transfer_id,amount\nT-3,90.00\n") // same length
		if _, err := db.Exec(`UPDATE sheet_files SET content = ? WHERE sha256 = ?`, changed, f.SHA256); err != nil {
			t.Fatal(err)
		}
		if _, err := l.SheetFileBySHA256(ctx, f.SHA256); !errors.Is(err, ledger.ErrSheetCorrupt) {
			t.Fatalf("read of changed bytes = %v, want ErrSheetCorrupt", err)
		}

		ins := `INSERT INTO sheet_files (sha256, name, size, content, stored_at, stored_by) VALUES (?, ?, ?, ?, ?, ?)`
		good := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		for what, args := range map[string][]any{
			"short hash":      {"abc", "x.csv", 1, []byte("x"), "2026-01-01T00:00:00.000000000Z", "alice"},
			"upper-case hash": {"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "x.csv", 1, []byte("x"), "2026-01-01T00:00:00.000000000Z", "alice"},
			"empty name":      {good, "", 1, []byte("x"), "2026-01-01T00:00:00.000000000Z", "alice"},
			"path in name":    {good, "a/x.csv", 1, []byte("x"), "2026-01-01T00:00:00.000000000Z", "alice"},
			"size mismatch":   {good, "x.csv", 2, []byte("x"), "2026-01-01T00:00:00.000000000Z", "alice"},
			"empty content":   {good, "x.csv", 0, []byte{}, "2026-01-01T00:00:00.000000000Z", "alice"},
			"no time":         {good, "x.csv", 1, []byte("x"), "", "alice"},
		} {
			if _, err := db.Exec(ins, args...); err == nil {
				t.Errorf("%s: row accepted by the table", what)
				db.Exec(`DELETE FROM sheet_files WHERE sha256 = ?`, good)
			}
		}
	})
}
