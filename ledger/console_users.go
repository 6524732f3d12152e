package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ConsoleRole is what a console user may do. The roles are the finance
// team's: one person prepares the month's sheet, another approves it, others
// only look.
type ConsoleRole string

// Console roles.
const (
	// RolePreparer uploads sheets, prepares plans and starts approved runs.
	RolePreparer ConsoleRole = "preparer"
	// RoleApprover may do what a preparer does and approve or reject plans
	// prepared by someone else.
	RoleApprover ConsoleRole = "approver"
	// RoleViewer reads runs, results and event trails, and changes nothing.
	RoleViewer ConsoleRole = "viewer"
)

// ConsoleRoles lists every role, least to most powerful.
var ConsoleRoles = []ConsoleRole{RoleViewer, RolePreparer, RoleApprover}

// Valid reports whether r is one of ConsoleRoles.
func (r ConsoleRole) Valid() bool {
	for _, v := range ConsoleRoles {
		if r == v {
			return true
		}
	}
	return false
}

// EventConsole is the ledger event kind of every action a person takes in the
// web console (sign-in, upload, approval, run, download). Message says what in
// plain words and names the user; Data holds {"user":..., "action":...}.
const EventConsole EventKind = "console"

// Errors of the console user store.
var (
	// ErrUserExists means a console user of that name is already recorded.
	ErrUserExists = errors.New("console user already exists")
	// ErrBadUserName means a console user name is empty, too long, or holds
	// spaces or control characters.
	ErrBadUserName = errors.New("bad console user name")
)

// ConsoleUser is a person who may sign in to the web console. The ledger
// stores the password hash only; hashing is the console's job.
type ConsoleUser struct {
	Name         string
	Role         ConsoleRole
	PasswordHash []byte // bcrypt
	CreatedAt    time.Time
	CreatedBy    string // who added the user: "payrun user add (os user@host)", "setup", ...
	// Disabled users cannot sign in and their open sessions end; their
	// events and plans stay. payrun user enable lifts it.
	Disabled bool
}

// disabledMark prefixes the stored hash of a disabled user (as "!" does in
// /etc/shadow): no password matches it, the hash survives for enabling, and
// the schema needs no change.
const disabledMark = "!"

// maxUserName bounds a console user name; names appear in every event.
const maxUserName = 64

// CheckConsoleUserName reports whether name can name a console user: 1 to 64
// printable characters without spaces, so it reads unambiguously in events.
func CheckConsoleUserName(name string) error {
	if name == "" || len(name) > maxUserName {
		return fmt.Errorf("%w: %q must be 1 to %d characters", ErrBadUserName, name, maxUserName)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %q must not hold spaces or control characters", ErrBadUserName, name)
		}
	}
	return nil
}

// AddConsoleUser records a new console user and appends an EventConsole event
// naming who added it, in one transaction. A name already taken fails with
// ErrUserExists; names compare without regard to case.
func (l *Ledger) AddConsoleUser(ctx context.Context, u ConsoleUser) error {
	if err := CheckConsoleUserName(u.Name); err != nil {
		return fmt.Errorf("add console user: %w", err)
	}
	if !u.Role.Valid() {
		return fmt.Errorf("add console user %q: unknown role %q", u.Name, u.Role)
	}
	if len(u.PasswordHash) == 0 || strings.HasPrefix(string(u.PasswordHash), disabledMark) {
		return fmt.Errorf("add console user %q: empty or disabled-marked password hash", u.Name)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = l.now()
	}
	data, _ := json.Marshal(map[string]string{"user": u.Name, "role": string(u.Role), "action": "user_add", "by": u.CreatedBy})
	err := l.write(ctx, false, func(tx *wtx) error {
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM console_users WHERE name = ? COLLATE NOCASE`, u.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrUserExists
		}
		if _, err := tx.exec(`INSERT INTO console_users (name, role, password_hash, created_at, created_by)
			VALUES (?, ?, ?, ?, ?)`, u.Name, string(u.Role), string(u.PasswordHash), formatTime(u.CreatedAt), u.CreatedBy); err != nil {
			return err
		}
		return insertEvent(tx, Event{Kind: EventConsole, At: u.CreatedAt, Data: data,
			Message: fmt.Sprintf("console user %s added with role %s by %s", u.Name, u.Role, u.CreatedBy)}, formatTime(u.CreatedAt))
	})
	if err != nil {
		return fmt.Errorf("add console user %q: %w", u.Name, err)
	}
	return nil
}

// SetConsolePassword replaces the password hash of console user name.
func (l *Ledger) SetConsolePassword(ctx context.Context, name string, hash []byte, by string) error {
	if len(hash) == 0 || strings.HasPrefix(string(hash), disabledMark) {
		return fmt.Errorf("set password of %q: empty or disabled-marked hash", name)
	}
	now := l.now()
	data, _ := json.Marshal(map[string]string{"user": name, "action": "password_set", "by": by})
	err := l.write(ctx, false, func(tx *wtx) error {
		// A disabled user stays disabled with a new password.
		res, err := tx.exec(`UPDATE console_users SET password_hash =
			CASE WHEN substr(password_hash, 1, 1) = ? THEN ? || ? ELSE ? END
			WHERE name = ? COLLATE NOCASE`, disabledMark, disabledMark, string(hash), string(hash), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return insertEvent(tx, Event{Kind: EventConsole, At: now, Data: data,
			Message: fmt.Sprintf("password of console user %s set by %s", name, by)}, formatTime(now))
	})
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	return nil
}

// ConsoleUser returns the console user called name (any case), or ErrNotFound.
func (l *Ledger) ConsoleUser(ctx context.Context, name string) (ConsoleUser, error) {
	u, err := scanConsoleUser(l.rqRow(ctx, `SELECT name, role, password_hash, created_at, created_by
		FROM console_users WHERE name = ? COLLATE NOCASE`, name))
	if err != nil {
		return ConsoleUser{}, notFound(err, fmt.Sprintf("read console user %q", name))
	}
	return u, nil
}

// ConsoleUsers returns every console user, by name.
func (l *Ledger) ConsoleUsers(ctx context.Context) ([]ConsoleUser, error) {
	rs, err := l.rq(ctx, `SELECT name, role, password_hash, created_at, created_by
		FROM console_users ORDER BY name COLLATE NOCASE`)
	if err != nil {
		return nil, fmt.Errorf("list console users: %w", err)
	}
	defer rs.Close()
	var out []ConsoleUser
	for rs.Next() {
		u, err := scanConsoleUser(rs)
		if err != nil {
			return nil, fmt.Errorf("list console users: %w", err)
		}
		out = append(out, u)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("list console users: %w", err)
	}
	return out, nil
}

func scanConsoleUser(s scanner) (ConsoleUser, error) {
	var (
		u          ConsoleUser
		role, hash string
		at         sql.NullString
	)
	if err := s.Scan(&u.Name, &role, &hash, &at, &u.CreatedBy); err != nil {
		return ConsoleUser{}, err
	}
	t, err := parseTime(at)
	if err != nil {
		return ConsoleUser{}, err
	}
	u.Disabled = strings.HasPrefix(hash, disabledMark)
	u.Role, u.PasswordHash, u.CreatedAt = ConsoleRole(role), []byte(strings.TrimPrefix(hash, disabledMark)), t
	return u, nil
}

// SetConsoleUserDisabled disables (or, with disabled false, enables) console
// user name and records who did it. A disabled user cannot sign in, and the
// console ends their open sessions at their next request. Disabling twice is
// not an error.
func (l *Ledger) SetConsoleUserDisabled(ctx context.Context, name string, disabled bool, by string) error {
	action, verb := "user_enable", "enabled"
	q := `UPDATE console_users SET password_hash = substr(password_hash, 2)
		WHERE name = ? COLLATE NOCASE AND substr(password_hash, 1, 1) = '` + disabledMark + `'`
	if disabled {
		action, verb = "user_disable", "disabled"
		q = `UPDATE console_users SET password_hash = '` + disabledMark + `' || password_hash
		WHERE name = ? COLLATE NOCASE AND substr(password_hash, 1, 1) <> '` + disabledMark + `'`
	}
	now := l.now()
	err := l.write(ctx, false, func(tx *wtx) error {
		stored, err := storedUserName(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.exec(q, stored); err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]string{"user": stored, "action": action, "by": by})
		return insertEvent(tx, Event{Kind: EventConsole, At: now, Data: data,
			Message: fmt.Sprintf("console user %s %s by %s", stored, verb, by)}, formatTime(now))
	})
	if err != nil {
		return fmt.Errorf("set console user %q %s: %w", name, verb, err)
	}
	return nil
}

// storedUserName is the name as recorded of the console user called name in
// any case, or ErrNotFound, so events spell it one way.
func storedUserName(tx *wtx, name string) (string, error) {
	var stored string
	err := tx.queryRow(`SELECT name FROM console_users WHERE name = ? COLLATE NOCASE`, name).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return stored, err
}

// RemoveConsoleUser deletes console user name and records who did it. The
// events naming the user, and plans they prepared or approved, stay: they
// hold the name as text. The console ends the user's open sessions at their
// next request.
func (l *Ledger) RemoveConsoleUser(ctx context.Context, name, by string) error {
	now := l.now()
	err := l.write(ctx, false, func(tx *wtx) error {
		stored, err := storedUserName(tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.exec(`DELETE FROM console_users WHERE name = ?`, stored); err != nil {
			return err
		}
		data, _ := json.Marshal(map[string]string{"user": stored, "action": "user_remove", "by": by})
		return insertEvent(tx, Event{Kind: EventConsole, At: now, Data: data,
			Message: fmt.Sprintf("console user %s removed by %s", stored, by)}, formatTime(now))
	})
	if err != nil {
		return fmt.Errorf("remove console user %q: %w", name, err)
	}
	return nil
}

// ConsoleAction records what user did in the console as an EventConsole
// event: action is a short verb ("sign_in", "upload", "approve", "run"...),
// message the plain-English line shown in the trail (it should name the
// user), runID the run it concerns (0: none). Extra fields go into Data next
// to "user" and "action"; none of them may hold a secret.
func (l *Ledger) ConsoleAction(ctx context.Context, user, action string, runID int64, message string, extra map[string]string) (Event, error) {
	d := map[string]string{}
	for k, v := range extra {
		d[k] = v
	}
	d["user"], d["action"] = user, action
	data, err := json.Marshal(d)
	if err != nil {
		return Event{}, fmt.Errorf("record console action: %w", err)
	}
	if !strings.Contains(message, user) {
		message = user + ": " + message
	}
	return l.AppendEvent(ctx, Event{Kind: EventConsole, RunID: runID, Message: message, Data: data})
}
