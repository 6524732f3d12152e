package console

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package puts the browser;
// .ci/run installs it (apt-get install -y chromium).
const chromiumPath = "/usr/bin/chromium"

// screenshotDir keeps the pages as the browser drew them; plan.png and
// results.png are committed and shown in the README. They are rewritten only
// with PAYRUN_UPDATE_SCREENSHOTS=1.
const screenshotDir = "testdata/screenshots"

// TestBrowserFlow drives a real headless Chromium through what finance does
// each month: sign in, upload the sample sheet, read the plan, have a second
// person approve it, run it against the embedded sandbox, read the results
// with their KYC upload links, and download the workbook.
func TestBrowserFlow(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no browser at %s (apt-get install -y chromium): the real-browser test is skipped", chromiumPath)
	}
	if testing.Short() {
		t.Skip("-short: the real-browser test is skipped")
	}
	e := newEnv(t)
	sheet, err := filepath.Abs(filepath.Join("..", "..", "..", "samples", "monthly-freelancers.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	downloads := t.TempDir()
	// Screenshots go to a temp dir unless asked for: a test run must not
	// rewrite the committed README pictures.
	shots := t.TempDir()
	if os.Getenv("PAYRUN_UPDATE_SCREENSHOTS") != "" {
		shots = screenshotDir
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 960),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTime()

	base := e.http.URL
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s (at %s): %v", what, loc, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	signIn := func(name string, shotName string) {
		t.Helper()
		do("open sign-in", chromedp.Navigate(base+"/signin"), chromedp.WaitVisible("#name"),
			chromedp.SendKeys("#name", name), chromedp.SendKeys("#password", testPassword))
		if shotName != "" {
			shot(shotName)
		}
		do("sign in as "+name, chromedp.Click("#signin"), chromedp.WaitVisible(".who"))
	}
	signOut := func() {
		t.Helper()
		do("sign out", chromedp.Click(".who button"), chromedp.WaitVisible("#signin"))
	}

	// 1. Alice, a preparer, signs in and uploads the month's sheet.
	signIn("alice", "1-signin")
	do("upload the sheet", chromedp.WaitVisible("#sheet"), chromedp.SetUploadFiles("#sheet", []string{sheet}))
	shot("2-upload")
	do("check and plan", chromedp.Click("#upload"), chromedp.WaitVisible("#plan-status"))
	planURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	status, _ := chromedp.Run(ctx, chromedp.Text("#plan-status"))
	waiting, _ := chromedp.Run(ctx, chromedp.Text("#needs-approver"))
	if status != "pending" || !strings.Contains(waiting, "someone else must approve") {
		t.Fatalf("plan page: status %q, notice %q", status, waiting)
	}
	shot("plan")
	signOut()

	// 2. Bob, an approver, approves it.
	signIn("bob", "")
	do("open the plan", chromedp.Navigate(planURL), chromedp.WaitVisible("#approve"))
	do("approve", chromedp.Click("#approve"), chromedp.WaitVisible(".flash"))
	if status, _ := chromedp.Run(ctx, chromedp.Text("#plan-status")); status != "approved" {
		t.Fatalf("plan status after approval: %q", status)
	}
	shot("3-approved")
	signOut()

	// 3. Alice runs it against the embedded sandbox and watches it.
	signIn("alice", "")
	do("open the plan", chromedp.Navigate(planURL), chromedp.WaitVisible("#run"))
	do("run", chromedp.Click("#run"), chromedp.WaitVisible("#run-status"))
	if running, _ := chromedp.Run(ctx, chromedp.Text("#run-status")); running == "running" {
		shot("4-progress")
	}
	// The page's script reloads it into the results when the run ends.
	do("wait for the results", chromedp.WaitVisible("#results"))
	shot("5-results-all")
	kyc, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelectorAll("#results a.kyc").length`))
	if err != nil || kyc < 1 {
		t.Fatalf("results show %v KYC links (err %v), want at least one", kyc, err)
	}
	href, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#results a.kyc").href`))
	if !strings.HasPrefix(href, "https://sandbox.masspay.example/kyc/upload/") {
		t.Fatalf("KYC link %q", href)
	}
	do("filter to needs action", chromedp.Click("#show-needs-action"), chromedp.WaitVisible("#results"))
	shot("results") // the summary and the rows that need a person, KYC links in view

	// 4. The workbook downloads.
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
	}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	do("download the workbook", chromedp.Click("#download"))
	got := waitDownload(t, downloads, "monthly-freelancers.results.xlsx")
	if !bytes.HasPrefix(got, []byte("PK")) || len(got) < 2000 {
		t.Fatalf("downloaded workbook is %d bytes, not an XLSX", len(got))
	}

	// 5. A row's event trail, from the results.
	do("open a row's trail", chromedp.Navigate(base+"/row?id=2026-06-FL-0195"), chromedp.WaitVisible("main table"))
	shot("6-row-trail")
	e.assertNoSecret()
}

// waitDownload waits for a finished download of name in dir and returns it.
func waitDownload(t *testing.T, dir, name string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil && len(b) > 0 {
			return b
		}
		time.Sleep(100 * time.Millisecond)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	t.Fatalf("no %s downloaded within 30s; %s holds %q", name, dir, names)
	return nil
}
