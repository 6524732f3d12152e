package masspay

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Load moves money from the client account into a user's wallet
// (POST /load/{user_token}). key is required: use the row's
// client_transfer_id, which is also txn.ClientLoadID. A refusal comes back as
// an *APIError: ErrKYCHold, ErrInsufficientFunds (code NSF), ErrDuplicate
// (409, client_load_id already used). A 200 answer without a load_token or
// with a status this client does not know returns the answer together with a
// *PayoutError matching ErrUnclearAnswer: the load may or may not exist.
func (c *Client) Load(ctx context.Context, key, userToken string, txn LoadTxn) (*LoadTxnResp, error) {
	if err := requireKey("load", key); err != nil {
		return nil, err
	}
	var t tokens
	p := pathOf("load", t.seg("user token", userToken))
	if t.err != nil {
		return nil, t.err
	}
	var out LoadTxnResp
	if err := c.do(ctx, http.MethodPost, p, nil, key, txn, &out); err != nil {
		return nil, err
	}
	switch strings.ToUpper(out.Status) {
	case LoadCompleted, LoadScheduled, LoadCancelled:
		if out.LoadToken != "" {
			return &out, nil
		}
	}
	return &out, &PayoutError{Op: "load", UserToken: userToken, ClientTransferID: txn.ClientLoadID,
		PayoutToken: out.LoadToken, Status: out.Status, Kind: ErrUnclearAnswer}
}

// Loads returns a user's wallet loads (GET /load/{user_token}).
func (c *Client) Loads(ctx context.Context, userToken string) ([]Load, error) {
	var t tokens
	p := pathOf("load", t.seg("user token", userToken))
	if t.err != nil {
		return nil, t.err
	}
	var out []Load
	if err := c.do(ctx, http.MethodGet, p, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// ReverseLoad cancels a scheduled load or reverses a processed one
// (DELETE /load/{user_token}?load_token=). The answer's fields are those
// MassPay sent; an empty answer leaves them empty.
func (c *Client) ReverseLoad(ctx context.Context, key, userToken, loadToken string) (*LoadTxnResp, error) {
	var t tokens
	p := pathOf("load", t.seg("user token", userToken))
	t.seg("load token", loadToken)
	if t.err != nil {
		return nil, t.err
	}
	q := url.Values{"load_token": {loadToken}}
	var out LoadTxnResp
	if err := c.do(ctx, http.MethodDelete, p, q, key, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
