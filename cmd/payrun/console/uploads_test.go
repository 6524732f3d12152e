package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrun/payrun/ledger"
)

// manualClock is a console clock the test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *manualClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// Uploads refused for mistakes hold payees' data and are never paid: they
// are removed once the retention (a week by default) has passed, while
// sheets a plan names stay. They used to be kept forever.
func TestRefusedUploadsRemovedAfterRetention(t *testing.T) {
	clock := &manualClock{now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)}
	e := newEnv(t, func(c *Config) { c.Clock = clock.Now })
	stored := func(content []byte) bool {
		sum := sha256.Sum256(content)
		_, err := os.Stat(filepath.Join(e.srv.cfg.DataDir, dirSheets, hex.EncodeToString(sum[:])))
		return err == nil
	}
	bad := []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\nB-1,u-1,Ana,Silva,not-an-email,USA,-3\n")
	bad2 := []byte("client_transfer_id,internal_user_id,first_name,last_name,email,country,amount\nB-2,u-2,Bo,Li,nope,USA,-4\n")
	good := smallSheet("keep")

	upload := func(content []byte, want int) {
		t.Helper()
		alice := e.signIn("alice") // sessions do not outlive the clock's jumps
		if resp, body := alice.upload("june.csv", content); resp.StatusCode != want {
			t.Fatalf("upload = %d, want %d\n%s", resp.StatusCode, want, body)
		}
	}
	upload(bad, http.StatusUnprocessableEntity)
	if !stored(bad) {
		t.Fatal("the refused upload is not stored at all")
	}
	clock.advance(6 * 24 * time.Hour)
	upload(bad2, http.StatusUnprocessableEntity)
	if !stored(bad) {
		t.Error("a refused upload was removed before the retention passed")
	}
	clock.advance(2 * 24 * time.Hour) // bad: 8 days, bad2: 2 days
	upload(good, http.StatusSeeOther)
	if stored(bad) {
		t.Error("an upload refused 8 days ago is still stored")
	}
	if !stored(bad2) || !stored(good) {
		t.Errorf("removed too much: bad2 %v, planned sheet %v", stored(bad2), stored(good))
	}
	clock.advance(30 * 24 * time.Hour)
	e.srv.sweepRefused() // the hourly sweep
	if stored(bad2) || !stored(good) {
		t.Errorf("after 30 more days: refused upload stored %v (want false), planned sheet stored %v (want true)", stored(bad2), stored(good))
	}
}

func TestUploadValidationReport(t *testing.T) {
	e := newEnv(t)
	alice := e.signIn("alice")
	resp, body := alice.upload("mistakes.csv", sample(t, "mistakes.csv"))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("upload of a sheet with mistakes = %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{"mistakes.csv", "Nothing was planned or paid", ">Row</th>", "<th>Column</th>"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Every error by row and column: as many table rows as problems.
	if n := strings.Count(body, `class="sev-error"`); n < 5 {
		t.Errorf("report shows %d errors; the sample has more\n%s", n, body)
	}
	if plans, _ := e.ledger.Plans(context.Background(), ledger.PlanFilter{}); len(plans) != 0 {
		t.Fatalf("a sheet with mistakes was planned: %+v", plans)
	}
	if resp, _ := alice.upload("notes.txt", []byte("hello")); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("upload of a .txt = %d, want 415", resp.StatusCode)
	}
	if !hasEvent(e.consoleEvents(), "alice uploaded mistakes.csv") {
		t.Fatal("upload not in the ledger")
	}
}

func TestUploadTooLarge(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxUpload = 4 << 10 })
	alice := e.signIn("alice")
	big := append(smallSheet("big"), bytes.Repeat([]byte("T-x,u,A,B,a@example.com,USA,1.00\n"), 4000)...)
	resp, body := alice.upload("big.csv", big)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than this console accepts") {
		t.Fatalf("oversized upload = %d\n%s", resp.StatusCode, body)
	}
	if plans, _ := e.ledger.Plans(context.Background(), ledger.PlanFilter{}); len(plans) != 0 {
		t.Fatal("an oversized upload was planned")
	}
}
