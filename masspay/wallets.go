package masspay

import (
	"context"
	"net/http"
	"net/url"
)

// Wallets returns a user's wallets (GET /wallet/{user_token}).
func (c *Client) Wallets(ctx context.Context, userToken string) ([]Wallet, error) {
	var t tokens
	p := pathOf("wallet", t.seg("user token", userToken))
	if t.err != nil {
		return nil, t.err
	}
	var out []Wallet
	if err := c.do(ctx, http.MethodGet, p, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AutopayRules returns the autopay rules of one wallet
// (GET /wallet/{user_token}/{wallet_token}/autopayout).
func (c *Client) AutopayRules(ctx context.Context, userToken, walletToken string) ([]AutopayRule, error) {
	p, err := autopayPath(userToken, walletToken)
	if err != nil {
		return nil, err
	}
	var out []AutopayRule
	if err := c.do(ctx, http.MethodGet, p, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddAutopayRule sends a percentage of every load into the wallet on to a
// destination (POST /wallet/{user_token}/{wallet_token}/autopayout).
func (c *Client) AddAutopayRule(ctx context.Context, key, userToken, walletToken string, rule AutopayRuleTxn) (*AutopayRule, error) {
	p, err := autopayPath(userToken, walletToken)
	if err != nil {
		return nil, err
	}
	var out AutopayRule
	if err := c.do(ctx, http.MethodPost, p, nil, key, rule, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAutopayRule removes one rule
// (DELETE /wallet/{user_token}/{wallet_token}/autopayout?token=).
func (c *Client) DeleteAutopayRule(ctx context.Context, key, userToken, walletToken, ruleToken string) error {
	p, err := autopayPath(userToken, walletToken)
	if err != nil {
		return err
	}
	var t tokens
	t.seg("rule token", ruleToken)
	if t.err != nil {
		return t.err
	}
	return c.do(ctx, http.MethodDelete, p, url.Values{"token": {ruleToken}}, key, nil, nil)
}

func autopayPath(userToken, walletToken string) (string, error) {
	var t tokens
	p := pathOf("wallet", t.seg("user token", userToken), t.seg("wallet token", walletToken), "autopayout")
	return p, t.err
}
