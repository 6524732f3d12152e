package masspay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// LookupUser finds a user by InternalUserID, or by Email together with
// FirstName (GET /user/lookup). Nobody found is an error matching
// ErrNotFound.
func (c *Client) LookupUser(ctx context.Context, p LookupUserParams) (*FoundUser, error) {
	q := url.Values{}
	if p.InternalUserID != "" {
		q.Set("internal_user_id", p.InternalUserID)
	}
	if p.Email != "" {
		q.Set("email", p.Email)
	}
	if p.FirstName != "" {
		q.Set("first_name", p.FirstName)
	}
	if p.InternalUserID == "" && (p.Email == "" || p.FirstName == "") {
		return nil, fmt.Errorf("masspay: lookup user: need internal_user_id, or email and first_name: %w", ErrInvalidRequest)
	}
	var out FoundUser
	if err := c.do(ctx, http.MethodGet, "/user/lookup", q, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateUser creates a payee (POST /user). Use "user:<internal_user_id>" as
// key so a re-run replays instead of creating a second user.
func (c *Client) CreateUser(ctx context.Context, key string, u User) (*StoredUser, error) {
	var out StoredUser
	if err := c.do(ctx, http.MethodPost, "/user", nil, key, u, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUser returns one user (GET /user/{user_token}).
func (c *Client) GetUser(ctx context.Context, userToken string) (*StoredUser, error) {
	var t tokens
	p := pathOf("user", t.seg("user token", userToken))
	if t.err != nil {
		return nil, t.err
	}
	var out StoredUser
	if err := c.do(ctx, http.MethodGet, p, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateUser changes the non-empty fields of u (PUT /user/{user_token}). An
// empty key is allowed, but then a failure after sending is not retried.
func (c *Client) UpdateUser(ctx context.Context, key, userToken string, u UpdateUser) (*StoredUser, error) {
	var t tokens
	p := pathOf("user", t.seg("user token", userToken))
	if t.err != nil {
		return nil, t.err
	}
	var out StoredUser
	if err := c.do(ctx, http.MethodPut, p, nil, key, u, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UserHistory returns one user's transactions (GET /user/{user_token}/history).
func (c *Client) UserHistory(ctx context.Context, userToken string, hp HistoryParams) ([]TxnHistory, error) {
	var t tokens
	p := pathOf("user", t.seg("user token", userToken), "history")
	if t.err != nil {
		return nil, t.err
	}
	var out []TxnHistory
	if err := c.do(ctx, http.MethodGet, p, hp.values(), "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AllUsersHistory returns the transactions of every user (GET /user/history).
func (c *Client) AllUsersHistory(ctx context.Context, hp HistoryParams) ([]TxnHistory, error) {
	var out []TxnHistory
	if err := c.do(ctx, http.MethodGet, "/user/history", hp.values(), "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// values renders the non-zero parameters as a query.
func (hp HistoryParams) values() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("start_date", hp.StartDate)
	set("end_date", hp.EndDate)
	set("type", hp.Type)
	if hp.Page > 0 {
		q.Set("page", strconv.Itoa(hp.Page))
	}
	if hp.NumberOfRecords > 0 {
		q.Set("number_of_records", strconv.Itoa(hp.NumberOfRecords))
	}
	return q
}
