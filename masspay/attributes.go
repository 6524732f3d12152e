package masspay

import (
	"context"
	"net/http"
)

// Attributes returns the fields a payout of currency to destinationToken needs
// for userToken, with any values already stored
// (GET /attribute/{user_token}/{destination_token}/{currency}).
func (c *Client) Attributes(ctx context.Context, userToken, destinationToken, currency string) ([]AttrsRequirement, error) {
	p, err := attrPath(userToken, destinationToken, currency)
	if err != nil {
		return nil, err
	}
	var out []AttrsRequirement
	if err := c.do(ctx, http.MethodGet, p, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// StoreAttributes stores attribute values and returns the attribute set that
// a payout then references (POST /attribute/...).
func (c *Client) StoreAttributes(ctx context.Context, key, userToken, destinationToken, currency string, txn AttrTxn) (*AttrTxnResp, error) {
	p, err := attrPath(userToken, destinationToken, currency)
	if err != nil {
		return nil, err
	}
	var out AttrTxnResp
	if err := c.do(ctx, http.MethodPost, p, nil, key, txn, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func attrPath(userToken, destinationToken, currency string) (string, error) {
	var t tokens
	p := pathOf("attribute", t.seg("user token", userToken), t.seg("destination token", destinationToken), t.seg("currency", currency))
	return p, t.err
}
