package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/internal/plural"
	"github.com/payrun/payrun/ledger"
)

//go:embed pages/*.html static/*
var assets embed.FS

// pageNames are the templates in pages/, each rendered inside layout.html.
var pageNames = []string{"signin", "setup", "home", "report", "plan", "run", "runs", "row", "message"}

// pages holds one parsed template set per page.
type pages struct {
	t map[string]*template.Template
}

func loadPages() (*pages, error) {
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "pages/layout.html", "pages/partials.html", "pages/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.t[name] = t
	}
	return p, nil
}

// view is what every page template gets: the signed-in user (if any), the
// environment, and the page's own data in D.
type view struct {
	Title string
	User  string
	Role  ledger.ConsoleRole
	CSRF  string
	Env   string
	Flash string
	D     any
}

// render writes page name with data d, as the session's user.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, d any) {
	v := view{Title: title, Env: s.cfg.Environment, D: d, Flash: flashText(r.URL.Query().Get("msg"))}
	if sess, ok := r.Context().Value(sessionKey{}).(*session); ok {
		v.User, v.Role, v.CSRF = sess.user, sess.role, sess.csrf
	} else if sess, ok := s.currentSession(r); ok {
		v.User, v.Role, v.CSRF = sess.user, sess.role, sess.csrf
	}
	var buf bytes.Buffer
	if err := s.pages.t[name].Execute(&buf, v); err != nil {
		s.cfg.Log.Error().Err(err).Str("page", name).Msg("render page")
		http.Error(w, "The page could not be drawn; the console's log has the reason.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// messageData is the message page's data.
type messageData struct {
	Text   string
	Detail string
	Back   string
}

// message answers with a page that says one thing in plain words.
func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, title, text, back string) {
	s.messageDetail(w, r, status, title, text, "", back)
}

func (s *Server) messageDetail(w http.ResponseWriter, r *http.Request, status int, title, text, detail, back string) {
	if back == "" {
		back = "/"
	}
	s.render(w, r, status, "message", title, messageData{Text: text, Detail: detail, Back: back})
}

// flashes are the one-line notices a redirect may ask the next page to show
// (?msg=...); only these fixed texts can appear, never text from the URL.
var flashes = map[string]string{
	"approved":  "Plan approved. It can be run now.",
	"rejected":  "Plan rejected.",
	"signedout": "You are signed out.",
	"created":   "User created. Sign in.",
}

func flashText(code string) string { return flashes[code] }

var funcs = template.FuncMap{
	"money":       func(d decimal.Decimal, cur string) string { return formatMoney(d, cur) },
	"interrupted": func() string { return interruptedText },
	// count is "1 row", "2 rows": no page says "1 rows".
	"count": plural.Count,
	// verb is "is" for one, "are" for more: {{verb .N "is" "are"}}.
	"verb": plural.Verb,
	"dt": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"stateClass": func(s string) string { return "st-" + strings.ToLower(strings.ReplaceAll(s, "_", "-")) },
	"isLink": func(s string) bool {
		return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
	},
	"canPrepare": func(r ledger.ConsoleRole) bool { return canPrepare(r) },
	"canApprove": func(r ledger.ConsoleRole) bool { return canApprove(r) },
}

// formatMoney prints an amount with its currency's decimals and thousands
// separators, then its code: the way the CLI and the results workbook
// print it (sheet.FormatAmount).
func formatMoney(d decimal.Decimal, cur string) string {
	out := sheet.FormatAmount(d, cur)
	if cur != "" {
		out += " " + cur
	}
	return out
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
