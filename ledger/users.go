package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// UserToken returns the cached MassPay user_token of internalUserID; ok is
// false when the user is not cached yet.
func (l *Ledger) UserToken(ctx context.Context, internalUserID string) (token string, ok bool, err error) {
	err = l.rqRow(ctx, `SELECT user_token FROM users WHERE internal_user_id = ?`, internalUserID).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read user token of %q: %w", internalUserID, err)
	}
	return token, true, nil
}

// PutUserToken caches internalUserID's MassPay user_token (and email),
// replacing an older entry.
func (l *Ledger) PutUserToken(ctx context.Context, internalUserID, token, email string) error {
	if internalUserID == "" || token == "" {
		return fmt.Errorf("put user token: empty internal_user_id or token")
	}
	now := formatTime(l.now())
	// One statement locking one payee's entry: a one-key write.
	err := l.writeOneKey(ctx, func(tx *wtx) error {
		_, err := tx.exec(`INSERT INTO users (internal_user_id, user_token, email, updated_at)
			VALUES (?, ?, ?, ?) ON CONFLICT (internal_user_id) DO UPDATE SET
			user_token = excluded.user_token, email = excluded.email, updated_at = excluded.updated_at`,
			internalUserID, token, email, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("put user token of %q: %w", internalUserID, err)
	}
	return nil
}

// AnyUserToken returns the most recently cached MassPay user_token, of any
// payee; ok is false when the cache is empty. The planner reads a route's
// required attributes through it for payees MassPay does not know yet.
func (l *Ledger) AnyUserToken(ctx context.Context) (token string, ok bool, err error) {
	err = l.rqRow(ctx, `SELECT user_token FROM users ORDER BY updated_at DESC LIMIT 1`).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read a cached user token: %w", err)
	}
	return token, true, nil
}
