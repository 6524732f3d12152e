package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payrun/payrun/ledger"
)

// signinData is the sign-in and setup pages' data.
type signinData struct {
	Next    string
	Name    string
	Error   string
	Token   string // setup only
	Ledger  string // setup only: the ledger payrun user add must be given
	NoUsers bool
	Roles   []ledger.ConsoleRole
}

// signinCSRF returns the pre-session CSRF token of the browser, setting a
// fresh one when it has none.
func (s *Server) signinCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(signinCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok := randomToken(32)
	s.setCookie(w, signinCookie, tok, 3600)
	return tok
}

// signinPage shows the sign-in form.
func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.currentSession(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	users, _ := s.cfg.Ledger.ConsoleUsers(r.Context())
	s.renderSignin(w, r, http.StatusOK, signinData{Next: safeNext(r.URL.Query().Get("next")), NoUsers: len(users) == 0})
}

func (s *Server) renderSignin(w http.ResponseWriter, r *http.Request, status int, d signinData) {
	tok := s.signinCSRF(w, r)
	s.render(w, r, status, "signin", "Sign in", struct {
		signinData
		FormCSRF string
	}{d, tok})
}

// checkSigninCSRF parses a pre-session form and checks its double-submitted
// token.
func (s *Server) checkSigninCSRF(w http.ResponseWriter, r *http.Request) bool {
	if !s.parseForm(w, r, maxFormBytes) {
		return false
	}
	c, err := r.Cookie(signinCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), c.Value) {
		s.message(w, r, http.StatusForbidden, "Form expired",
			"This form did not come from this console (missing or wrong security token). Reload the page and try again.", "/signin")
		return false
	}
	return true
}

// signin checks a name and password and starts a session.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	if !s.checkSigninCSRF(w, r) {
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	fail := func(msg string) {
		s.renderSignin(w, r, http.StatusUnauthorized, signinData{Next: next, Name: name, Error: msg})
	}
	if name == "" || len(name) > 64 {
		fail("Wrong name or password.")
		return
	}
	done, wait, note, err := s.signins.begin(r.Context(), name, clientIP(r))
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("count sign-in attempt")
		s.message(w, r, http.StatusInternalServerError, "Sign-in failed", "The ledger could not be written. Try again.", "/signin")
		return
	}
	if done == nil {
		if note { // once per back-off, so a flood of refusals is one event
			s.record(r, name, "sign_in_blocked", 0, "sign-in as "+name+" refused: too many failed attempts", nil)
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
		s.renderSignin(w, r, http.StatusTooManyRequests, signinData{Next: next, Name: name,
			Error: "Too many failed attempts for this name or from this address. Try again in " + waitText(wait) + "."})
		return
	}
	// The outcome must reach the count: a failure not counted is a free
	// guess. A ledger that cannot count is logged; the attempt's in-flight
	// mark then goes stale after staleInFlight.
	end := func(o signinOutcome) {
		if err := done(o); err != nil {
			s.cfg.Log.Error().Err(err).Msg("count sign-in outcome")
		}
	}
	u, err := s.cfg.Ledger.ConsoleUser(r.Context(), name)
	if err != nil && !errors.Is(err, ledger.ErrNotFound) {
		end(signinAborted) // not a guess: the ledger failed
		s.cfg.Log.Error().Err(err).Msg("read console user")
		s.message(w, r, http.StatusInternalServerError, "Sign-in failed", "The ledger could not be read. Try again.", "/signin")
		return
	}
	hash := u.PasswordHash
	if err != nil {
		hash = dummyHash() // same work for an unknown name as for a wrong password
	}
	if !checkPassword(hash, password) || err != nil {
		end(signinFailed)
		s.record(r, name, "sign_in_failed", 0, "failed sign-in as "+name, nil)
		fail("Wrong name or password.")
		return
	}
	if u.Disabled {
		// The password was right, so saying so leaks nothing a guesser
		// could use; it still counts as a failure.
		end(signinFailed)
		s.record(r, name, "sign_in_failed", 0, "sign-in as "+name+" refused: user disabled", nil)
		fail("This user is disabled. Ask an administrator: payrun user enable " + u.Name)
		return
	}
	end(signinOK)
	// A session the browser brought along is ended, and a new id is made:
	// an id planted before sign-in (fixation) never becomes a signed-in one.
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.sessions.drop(r.Context(), c.Value); err != nil {
			s.cfg.Log.Error().Err(err).Msg("end the session a sign-in replaces")
		}
	}
	sess, err := s.sessions.create(r.Context(), u)
	if err != nil {
		s.cfg.Log.Error().Err(err).Msg("create console session")
		s.message(w, r, http.StatusInternalServerError, "Sign-in failed", "The ledger could not be written. Try again.", "/signin")
		return
	}
	s.setCookie(w, sessionCookie, sess.id, 0)
	s.setCookie(w, signinCookie, "", -1)
	s.record(r, u.Name, "sign_in", 0, u.Name+" signed in ("+string(u.Role)+")", nil)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout ends the session.
func (s *Server) signout(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.sessions.drop(r.Context(), sess.id); err != nil {
		// The session still works on every console: do not pretend.
		s.cfg.Log.Error().Err(err).Msg("end console session")
		s.message(w, r, http.StatusInternalServerError, "Sign-out failed", "The ledger could not be written, so the session is still open. Try again.", "/")
		return
	}
	s.setCookie(w, sessionCookie, "", -1)
	s.record(r, sess.user, "sign_out", 0, sess.user+" signed out", nil)
	http.Redirect(w, r, "/signin?msg=signedout", http.StatusSeeOther)
}

// setupOpen reports whether /setup may create a user: a setup token was
// configured and the ledger has no console user yet.
func (s *Server) setupOpen(ctx context.Context) bool {
	if s.cfg.SetupToken == "" {
		return false
	}
	users, err := s.cfg.Ledger.ConsoleUsers(ctx)
	return err == nil && len(users) == 0
}

// setupPage shows the first-user form, reachable only with the one-time
// token printed by payrun serve.
func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if !s.setupOpen(r.Context()) || !sameToken(tok, s.cfg.SetupToken) {
		s.message(w, r, http.StatusNotFound, "No setup here",
			"Setup is only open, with the link payrun serve printed, while no console user exists. Create users with: payrun user add --role approver --ledger LEDGER NAME, with the ledger payrun serve printed", "/signin")
		return
	}
	s.renderSetup(w, r, http.StatusOK, signinData{Token: tok})
}

func (s *Server) renderSetup(w http.ResponseWriter, r *http.Request, status int, d signinData) {
	d.Ledger = s.cfg.Ledger.Path()
	d.Roles = []ledger.ConsoleRole{ledger.RoleApprover, ledger.RolePreparer}
	tok := s.signinCSRF(w, r)
	s.render(w, r, status, "setup", "First user", struct {
		signinData
		FormCSRF string
	}{d, tok})
}

// setup creates the first console user.
func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	if !s.checkSigninCSRF(w, r) {
		return
	}
	tok := r.PostFormValue("token")
	if !s.setupOpen(r.Context()) || !sameToken(tok, s.cfg.SetupToken) {
		s.message(w, r, http.StatusNotFound, "No setup here", "Setup is closed: a console user exists already, or the link is wrong.", "/signin")
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	role := ledger.ConsoleRole(r.PostFormValue("role"))
	pw := r.PostFormValue("password")
	d := signinData{Token: tok, Name: name}
	if err := ledger.CheckConsoleUserName(name); err != nil {
		d.Error = "A name is 1 to 64 characters without spaces."
		s.renderSetup(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	if role != ledger.RoleApprover && role != ledger.RolePreparer {
		d.Error = "Choose a role."
		s.renderSetup(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	if pw != r.PostFormValue("password2") {
		d.Error = "The two passwords differ."
		s.renderSetup(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	hash, err := HashPassword(pw)
	if err != nil {
		d.Error = "The password must be 10 to 72 characters."
		s.renderSetup(w, r, http.StatusUnprocessableEntity, d)
		return
	}
	if err := s.cfg.Ledger.AddConsoleUser(r.Context(), ledger.ConsoleUser{Name: name, Role: role, PasswordHash: hash, CreatedBy: "setup page from " + clientIP(r)}); err != nil {
		s.cfg.Log.Error().Err(err).Msg("add first console user")
		s.message(w, r, http.StatusConflict, "Not created", "The user could not be created: "+err.Error(), "/signin")
		return
	}
	http.Redirect(w, r, "/signin?msg=created", http.StatusSeeOther)
}

// waitText says a back-off in words: "5 seconds", "2 minutes".
func waitText(d time.Duration) string {
	if d < time.Minute {
		n := max(1, int((d+time.Second-1)/time.Second))
		if n == 1 {
			return "1 second"
		}
		return strconv.Itoa(n) + " seconds"
	}
	n := int((d + time.Minute - 1) / time.Minute)
	if n == 1 {
		return "1 minute"
	}
	return strconv.Itoa(n) + " minutes"
}
