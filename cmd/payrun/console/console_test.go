package console

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
)

func TestSetup(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SetupToken = "setup-token-0123456789" })
	b := e.browser()
	// Users exist already (newEnv adds them): setup is closed.
	if code, _ := b.get("/setup?token=setup-token-0123456789"); code != http.StatusNotFound {
		t.Fatalf("setup with users present = %d, want 404", code)
	}

	fresh := newEmptyEnv(t, "setup-token-0123456789")
	b = fresh.browser()
	if code, _ := b.get("/setup?token=wrong"); code != http.StatusNotFound {
		t.Fatalf("setup with a wrong token = %d, want 404", code)
	}
	if code, body := b.get("/setup?token=setup-token-0123456789"); code != http.StatusOK {
		t.Fatalf("setup page = %d\n%s", code, body)
	} else if want := "--ledger " + fresh.ledger.Path() + " NAME"; !strings.Contains(body, want) {
		// Without the console's ledger, payrun user add writes to ./payrun.db.
		t.Errorf("setup page's user add hint lacks %q:\n%s", want, body)
	}
	form := url.Values{"token": {"setup-token-0123456789"}, "name": {"dana"}, "role": {"approver"}, "password": {"a long passphrase"}, "password2": {"a long passphrase"}}
	resp, body := b.post("/setup", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup = %d\n%s", resp.StatusCode, body)
	}
	u, err := fresh.ledger.ConsoleUser(context.Background(), "dana")
	if err != nil || u.Role != ledger.RoleApprover {
		t.Fatalf("first user = %+v, %v", u, err)
	}
	// The token works once: a second user needs payrun user add.
	b.get("/signin")
	form.Set("name", "eve")
	if resp, _ := b.post("/setup", form); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("second setup = %d, want 404", resp.StatusCode)
	}
}

// newEmptyEnv is a console over a ledger with no users.
func newEmptyEnv(t *testing.T, token string) *env {
	t.Helper()
	l, err := ledger.Open(context.Background(), t.TempDir()+"/empty.db", ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s, err := New(Config{Ledger: l, DataDir: t.TempDir(), SetupToken: token})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: s, ledger: l}
	e.http = httptest.NewServer(s)
	t.Cleanup(e.http.Close)
	return e
}

func TestNotFoundPages(t *testing.T) {
	e := newEnv(t)
	b := e.signIn("vic")
	for _, path := range []string{"/plans/99", "/plans/x", "/runs/99", "/runs/99/progress", "/row?id=nope", "/plans/99/workbook"} {
		if code, _ := b.get(path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
}

func TestCleanSheetName(t *testing.T) {
	for in, want := range map[string]string{
		"june.xlsx":              "june.xlsx",
		`C:\Users\x\June 26.CSV`: "June 26.csv",
		"../../etc/passwd.csv":   "passwd.csv",
		"<script>.xlsx":          "_script_.xlsx",
		".csv":                   "sheet.csv",
	} {
		got, err := cleanSheetName(in)
		if err != nil || got != want {
			t.Errorf("cleanSheetName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := cleanSheetName("payload.exe"); err == nil {
		t.Error("cleanSheetName accepted a .exe")
	}
}

func TestFormatMoney(t *testing.T) {
	for _, c := range []struct{ amount, cur, want string }{
		{"1234567.5", "USD", "1,234,567.50 USD"},
		{"-12", "USD", "-12.00 USD"},
		{"0.00012345", "BTC", "0.00012345 BTC"},
		{"999", "", "999.00"},
		{"1234567", "JPY", "1,234,567 JPY"},
		{"-1000", "USD", "-1,000.00 USD"},
		{"12345.678", "BTC", "12,345.67800000 BTC"},
	} {
		if got := formatMoney(mustDec(t, c.amount), c.cur); got != c.want {
			t.Errorf("formatMoney(%s, %s) = %q, want %q", c.amount, c.cur, got, c.want)
		}
		// The CLI prints the same digits (TestCLIMoneyGroupsThousands).
		if cli := sheet.FormatAmount(mustDec(t, c.amount), c.cur); !strings.HasPrefix(c.want, cli) {
			t.Errorf("the CLI prints %s as %q, the console as %q", c.amount, cli, c.want)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustDec(t *testing.T, s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
