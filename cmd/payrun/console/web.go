package console

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/payrun/payrun/ledger"
)

// Cookie names.
const (
	sessionCookie = "payrun_session"
	// signinCookie carries the CSRF token of the sign-in and setup forms,
	// which are posted before there is a session (double-submit).
	signinCookie = "payrun_signin"
)

// maxFormBytes bounds every form but the upload.
const maxFormBytes = 64 << 10

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))

	m.HandleFunc("GET /signin", s.signinPage)
	m.HandleFunc("POST /signin", s.signin)
	m.HandleFunc("GET /setup", s.setupPage)
	m.HandleFunc("POST /setup", s.setup)
	m.HandleFunc("POST /signout", s.page(anyRole, s.signout))

	m.HandleFunc("GET /{$}", s.page(anyRole, s.home))
	m.HandleFunc("POST /upload", s.page(canPrepare, s.upload))
	m.HandleFunc("GET /plans/{id}", s.page(anyRole, s.planPage))
	m.HandleFunc("GET /plans/{id}/workbook", s.page(anyRole, s.planWorkbook))
	m.HandleFunc("POST /plans/{id}/approve", s.page(canApprove, s.approve))
	m.HandleFunc("POST /plans/{id}/reject", s.page(canApprove, s.reject))
	m.HandleFunc("POST /plans/{id}/run", s.page(canPrepare, s.startRunHandler))
	m.HandleFunc("GET /runs", s.page(anyRole, s.runsPage))
	m.HandleFunc("GET /runs/{id}", s.page(anyRole, s.runPage))
	m.HandleFunc("GET /runs/{id}/progress", s.page(anyRole, s.progress))
	m.HandleFunc("GET /runs/{id}/results.xlsx", s.page(anyRole, s.download))
	m.HandleFunc("GET /row", s.page(anyRole, s.rowPage))
	s.mux = m

	// Token checks are the CSRF defence; refusing unsafe cross-origin
	// requests from browsers on top costs nothing.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.message(w, r, http.StatusForbidden, "Refused", "This request came from another site. Use the console's own pages.", "")
	}))
	s.handler = securityHeaders(cop.Handler(m))
}

// securityHeaders sets the headers every answer carries: no framing, no
// inline script, no sniffing, no referrer leaking run ids, no caching of
// pages that show payees.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// anyRole lets every signed-in user in.
func anyRole(ledger.ConsoleRole) bool { return true }

// page wraps a handler that needs a signed-in user whose role allows it. For
// POST it also bounds and parses the body and checks the form's CSRF token
// against the session's.
func (s *Server) page(allowed func(ledger.ConsoleRole) bool, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.currentSession(r)
		if !ok {
			if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/progress") {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.message(w, r, http.StatusUnauthorized, "Signed out", "Your session has ended. Sign in again.", "/signin")
			return
		}
		if !allowed(sess.role) {
			s.message(w, r, http.StatusForbidden, "Not allowed", "Your role ("+string(sess.role)+") does not allow this.", "/")
			return
		}
		if r.Method == http.MethodPost {
			limit := int64(maxFormBytes)
			if r.URL.Path == "/upload" {
				limit = s.cfg.MaxUpload + maxFormBytes
			}
			if !s.parseForm(w, r, limit) {
				return
			}
			if !sameToken(r.PostFormValue("csrf"), sess.csrf) {
				s.message(w, r, http.StatusForbidden, "Form expired",
					"This form did not come from your current session (missing or wrong security token). Reload the page and try again.", "/")
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)), sess)
	}
}

type sessionKey struct{}

// parseForm reads a POST body of at most limit bytes; a larger body is
// answered 413 and false.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if limit <= maxFormBytes {
		// The server's read timeout is long enough for a large upload over
		// a slow link; a small form (sign-in first) gets a short one, so a
		// client that trickles its body cannot hold a connection for
		// minutes.
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.formReadTimeout))
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.message(w, r, http.StatusRequestEntityTooLarge, "File too large",
				"The upload is larger than this console accepts ("+humanBytes(s.cfg.MaxUpload)+"). Split the sheet, or start payrun serve with a larger --max-upload.", "/")
			return false
		}
		s.message(w, r, http.StatusBadRequest, "Bad form", "The form could not be read.", "/")
		return false
	}
	return true
}

// currentSession returns the request's live session.
func (s *Server) currentSession(r *http.Request) (*session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, false
	}
	sess, err := s.sessions.get(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, ledger.ErrNotFound) {
			s.cfg.Log.Error().Err(err).Msg("read console session")
		}
		return nil, false // fail closed
	}
	// The ledger, not the session, says who may act: a user removed,
	// disabled or given a new password (payrun user ..., possibly from
	// another process) is signed out at their next request, and a changed
	// role applies at once.
	u, err := s.cfg.Ledger.ConsoleUser(r.Context(), sess.user)
	if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		s.cfg.Log.Error().Err(err).Msg("read console user of a session")
		return nil, false // fail closed, but keep the session for a retry
	}
	if err != nil || u.Disabled {
		// Gone or disabled: none of the user's sessions may live on.
		if _, err := s.cfg.Ledger.DropConsoleSessionsOf(r.Context(), sess.user); err != nil {
			s.cfg.Log.Error().Err(err).Msg("end the sessions of a removed or disabled user")
		}
		return nil, false
	}
	if credOf(u) != sess.cred {
		// Only this one: a session opened with the new password stays.
		if err := s.sessions.drop(r.Context(), sess.id); err != nil {
			s.cfg.Log.Error().Err(err).Msg("end a session opened before a password change")
		}
		return nil, false
	}
	sess.role = u.Role
	return sess, true
}

// setCookie sets a cookie with the console's fixed attributes: HttpOnly,
// SameSite=Strict, Secure under TLS.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.cfg.SecureCookies,
	})
}

// record writes the user's action to the ledger's event trail. A failure is
// logged: the action already happened and the page must say so.
func (s *Server) record(r *http.Request, user, action string, runID int64, msg string, extra map[string]string) {
	if extra == nil {
		extra = map[string]string{}
	}
	if ip := clientIP(r); ip != "" {
		extra["remote"] = ip
	}
	if _, err := s.cfg.Ledger.ConsoleAction(context.WithoutCancel(r.Context()), user, action, runID, msg, extra); err != nil {
		s.cfg.Log.Error().Err(err).Str("user", user).Str("action", action).Msg("record console action")
	}
}

// clientIP is the peer address without the port.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// safeNext keeps a post-sign-in redirect on this site: a local absolute
// path, never a URL. It judges the parsed URL, not the string's first bytes:
// browsers drop tabs and line feeds and read a backslash as a slash, so
// "/\t/evil.example" and "/\\evil.example" both mean //evil.example.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return "/"
	}
	for _, c := range next {
		// No backslash, and no space or control character anywhere:
		// the console's own paths (query values escaped) have none.
		if c == '\\' || c <= ' ' || c == 0x7f || unicode.IsSpace(c) || unicode.IsControl(c) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.HasPrefix(next, "//") {
		return "/"
	}
	// The decoded path must not start "//" or "/\\" either: a proxy or a
	// later redirect could decode %2F.
	if p, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return next
}
