package masspay

import (
	"context"
	"encoding/json"
	"fmt"
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
	body, err := EncodeBody(txn)
	if err != nil {
		return nil, fmt.Errorf("masspay: load: %w", err)
	}
	return c.LoadBody(ctx, key, userToken, body)
}

// LoadBody is Load with the LoadTxn already encoded (EncodeBody): the bytes
// are sent as they are, so a caller that recorded them with key re-sends
// exactly the request MassPay saw under it.
func (c *Client) LoadBody(ctx context.Context, key, userToken string, body json.RawMessage) (*LoadTxnResp, error) {
	if err := requireKey("load", key); err != nil {
		return nil, err
	}
	if len(body) == 0 {
		return nil, fmt.Errorf("masspay: load: empty body: %w", ErrInvalidRequest)
	}
	var t tokens
	p := pathOf("load", t.seg("user token", userToken))
	if t.err != nil {
		return nil, t.err
	}
	var out LoadTxnResp
	if err := c.do(ctx, http.MethodPost, p, nil, key, body, &out); err != nil {
		return nil, err
	}
	switch strings.ToUpper(out.Status) {
	case LoadCompleted, LoadScheduled, LoadCancelled:
		if out.LoadToken != "" {
			return &out, nil
		}
	}
	var sent struct {
		ClientLoadID string `json:"client_load_id"`
	}
	_ = json.Unmarshal(body, &sent) // only names the load in the error
	return &out, &PayoutError{Op: "load", UserToken: userToken, ClientTransferID: sent.ClientLoadID,
		PayoutToken: out.LoadToken, Status: out.Status, Kind: ErrUnclearAnswer}
}

// EncodeBody encodes a request body (a LoadTxn, a PayoutTxn) as the client
// sends it, for callers that record the exact bytes before sending them with
// LoadBody or InitiatePayoutBody.
func EncodeBody(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
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
