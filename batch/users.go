package batch

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/payrun/payrun/batch/sheet"
	"github.com/payrun/payrun/ledger"
	"github.com/payrun/payrun/ledger/faultpoint"
	"github.com/payrun/payrun/masspay"
)

// ensureUser returns the payee's user_token: from the ledger's cache (so a
// monthly run skips lookups), else by lookup of internal_user_id, else by
// creating the user under the key "user:<internal id>"; when MassPay
// refuses the create because it has the email, by email and first name.
// Rows of the same payee wait for each other, so a payee is created once.
func (r *Runner) ensureUser(ctx context.Context, rowID string, d sheet.Row) (string, error) {
	unlock := r.userMu.lock(d.InternalUserID)
	defer unlock()
	if tok, ok, err := r.Ledger.UserToken(ctx, d.InternalUserID); err != nil {
		return "", fmt.Errorf("read user cache: %w", err)
	} else if ok {
		return tok, nil
	}
	return r.findOrCreateUser(ctx, rowID, d)
}

// findOrCreateUser is ensureUser without the cache, under the payee's lock:
// lookup, else creation; the token found is cached.
func (r *Runner) findOrCreateUser(ctx context.Context, rowID string, d sheet.Row) (string, error) {
	found, err := r.API.LookupUser(ctx, masspay.LookupUserParams{InternalUserID: d.InternalUserID})
	if err != nil && !errors.Is(err, masspay.ErrNotFound) {
		return "", err
	}
	if err == nil && found != nil && found.UserToken != "" {
		return found.UserToken, r.cacheUser(ctx, d, found.UserToken)
	}
	key := ledger.UserKey(d.InternalUserID)
	u := masspay.User{Profile: masspay.Profile{
		InternalUserID: d.InternalUserID, Country: d.Country, FirstName: d.FirstName, LastName: d.LastName,
		Email: d.Email, Address1: d.Address1, Address2: d.Address2, City: d.City, StateProvince: d.StateProvince,
		PostalCode: d.PostalCode, MiddleName: d.MiddleName, Language: d.Language, MobileNumber: d.MobileNumber,
		BusinessName: d.BusinessName, DateOfBirth: d.DateOfBirth,
	}, NotifyUser: d.NotifyUser}
	faultpoint.Hit("api.create_user.before")
	created, err := r.API.CreateUser(ctx, key, u)
	faultpoint.Hit("api.create_user.after")
	if err != nil {
		// The key was used with another body: this payee was created
		// meanwhile for another of its rows (other details, say another
		// country) by a runner sharing the ledger (issue 22), which the
		// per-payee lock of this process does not cover. The payee
		// exists: find it. A create moves no money.
		if errors.Is(err, masspay.ErrIdempotencyKeyReused) {
			found, ferr := r.API.LookupUser(ctx, masspay.LookupUserParams{InternalUserID: d.InternalUserID})
			if ferr == nil && found != nil && found.UserToken != "" {
				return found.UserToken, r.cacheUser(ctx, d, found.UserToken)
			}
			if ferr != nil && !errors.Is(ferr, masspay.ErrNotFound) {
				return "", ferr // unknown yet: the row is tried again
			}
		}
		// MassPay keeps one user per email, and answers 409 when it has
		// one: only then is the email looked up, one call fewer for every
		// new payee than asking before each create.
		if httpStatus(err) == http.StatusConflict && d.Email != "" {
			if tok, ferr := r.userByEmail(ctx, d); ferr != nil || tok != "" {
				return tok, ferr
			}
		}
		return "", err
	}
	if _, aerr := r.Ledger.AppendEvent(ctx, ledger.Event{
		TransferID: rowID, Kind: ledger.EventAPICall, IdempotencyKey: key,
		HTTPStatus: 200, MasspayStatus: created.Status, Message: "created payee " + created.UserToken,
	}); aerr != nil {
		return "", fmt.Errorf("record payee creation: %w", aerr)
	}
	return created.UserToken, r.cacheUser(ctx, d, created.UserToken)
}

// userByEmail finds (and caches) the payee by email and first name, ""
// when MassPay has none. A user filed under another internal_user_id is
// not this row's payee: a needsActionError.
func (r *Runner) userByEmail(ctx context.Context, d sheet.Row) (string, error) {
	found, err := r.API.LookupUser(ctx, masspay.LookupUserParams{Email: d.Email, FirstName: d.FirstName})
	if errors.Is(err, masspay.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if found == nil || found.UserToken == "" {
		return "", nil
	}
	// An email and first name are not an identity: a MassPay user filed
	// under another internal_user_id is someone else (or the same person
	// under two ids), and loading them could land the money in the wrong
	// wallet. A person decides.
	if found.InternalUserID != d.InternalUserID {
		return "", &needsActionError{
			reason: fmt.Sprintf("MassPay has a payee with this email and first name (%s) under internal_user_id %q, not this row's %q; not paid.",
				found.UserToken, found.InternalUserID, d.InternalUserID),
			action: "Check in MassPay whether it is the same person; correct internal_user_id in the sheet (or in MassPay) so the two agree, and re-run.",
		}
	}
	return found.UserToken, r.cacheUser(ctx, d, found.UserToken)
}

func (r *Runner) cacheUser(ctx context.Context, d sheet.Row, token string) error {
	if err := r.Ledger.PutUserToken(ctx, d.InternalUserID, token, d.Email); err != nil {
		return fmt.Errorf("cache user token: %w", err)
	}
	return nil
}
