package masspay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// InitiatePayout asks for a quote (POST /{user_token}, under the /v1.0.0/payout base); the quote must
// be committed with CommitPayout within 2 minutes. key is required: use the
// row's client_transfer_id for the first quote.
//
// MassPay refuses inside a 200 answer with the payout_token NSF or DUPLICATE;
// InitiatePayout then returns the decoded answer together with a *PayoutError
// matching ErrInsufficientFunds or ErrDuplicate.
func (c *Client) InitiatePayout(ctx context.Context, key, userToken string, txn PayoutTxn) (*PayoutTxnResp, error) {
	body, err := EncodeBody(txn)
	if err != nil {
		return nil, fmt.Errorf("masspay: initiate payout: %w", err)
	}
	return c.InitiatePayoutBody(ctx, key, userToken, body)
}

// InitiatePayoutBody is InitiatePayout with the PayoutTxn already encoded
// (EncodeBody): the bytes are sent as they are, so a caller that recorded
// them with key re-sends exactly the request MassPay saw under it. The body
// is decoded only to check it.
func (c *Client) InitiatePayoutBody(ctx context.Context, key, userToken string, body json.RawMessage) (*PayoutTxnResp, error) {
	if err := requireKey("initiate payout", key); err != nil {
		return nil, err
	}
	var txn PayoutTxn
	if err := json.Unmarshal(body, &txn); err != nil {
		return nil, fmt.Errorf("masspay: initiate payout: decode encoded body: %w: %v", ErrInvalidRequest, err)
	}
	if (txn.SourceAmount == nil) == (txn.DestinationAmount == nil) {
		return nil, fmt.Errorf("masspay: initiate payout: set exactly one of source_amount and destination_amount: %w", ErrInvalidRequest)
	}
	var t tokens
	p := pathOf(t.seg("user token", userToken))
	if t.err != nil {
		return nil, t.err
	}
	var out PayoutTxnResp
	if err := c.do(ctx, http.MethodPost, p, nil, key, body, &out); err != nil {
		return nil, err
	}
	var kind error
	switch strings.ToUpper(out.PayoutToken) {
	case PayoutTokenNSF:
		kind = ErrInsufficientFunds
	case PayoutTokenDuplicate:
		kind = ErrDuplicate
	case "":
		// Nothing says whether a quote exists: unknown, not a refusal.
		return &out, &PayoutError{Op: "initiate", UserToken: userToken, ClientTransferID: txn.ClientTransferID,
			Status: out.Status, Kind: ErrUnclearAnswer}
	default:
		return &out, nil
	}
	return &out, &PayoutError{Op: "initiate", UserToken: userToken, PayoutToken: out.PayoutToken,
		ClientTransferID: txn.ClientTransferID, Status: out.PayoutToken, Kind: kind}
}

// CommitPayout commits an initiated payout (PUT /{user_token}/{payout_token}).
// key is required: use "<client_transfer_id>#commit".
//
// A status other than success returns the decoded answer together with a
// *PayoutError matching ErrQuoteExpired, ErrAdditionalAttributes,
// ErrInsufficientFunds, ErrCommitFailed (failure) or ErrUnclearAnswer (an
// empty answer or a status this client does not know: the commit may have
// gone through, so it is never reported as a refusal).
func (c *Client) CommitPayout(ctx context.Context, key, userToken, payoutToken string) (*PayoutTxnCommitResp, error) {
	if err := requireKey("commit payout", key); err != nil {
		return nil, err
	}
	p, err := payoutPath(userToken, payoutToken)
	if err != nil {
		return nil, err
	}
	var out PayoutTxnCommitResp
	if err := c.do(ctx, http.MethodPut, p, nil, key, nil, &out); err != nil {
		return nil, err
	}
	var kind error
	switch strings.ToLower(out.Status) {
	case CommitSuccess:
		return &out, nil
	case CommitExRateExpired:
		kind = ErrQuoteExpired
	case CommitAddtlAttrReq:
		kind = ErrAdditionalAttributes
	case CommitNSF:
		kind = ErrInsufficientFunds
	case CommitFailure:
		kind = ErrCommitFailed
	default:
		kind = ErrUnclearAnswer
	}
	tok := out.PayoutToken
	if tok == "" {
		tok = payoutToken
	}
	return &out, &PayoutError{Op: "commit", UserToken: userToken, PayoutToken: tok,
		Status: out.Status, Errors: out.Errors, Kind: kind}
}

// PayoutStatus returns one payout (GET /{user_token}/{payout_token}).
// force asks MassPay to refresh the status from the payer first.
func (c *Client) PayoutStatus(ctx context.Context, userToken, payoutToken string, force bool) (*PayoutTxnResp, error) {
	p, err := payoutPath(userToken, payoutToken)
	if err != nil {
		return nil, err
	}
	q := url.Values{"force_status_update": {strconv.FormatBool(force)}}
	var out PayoutTxnResp
	if err := c.do(ctx, http.MethodGet, p, q, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Payouts returns a user's payouts (GET /{user_token}).
func (c *Client) Payouts(ctx context.Context, userToken string) ([]PayoutTxnResp, error) {
	var t tokens
	p := pathOf(t.seg("user token", userToken))
	if t.err != nil {
		return nil, t.err
	}
	var out []PayoutTxnResp
	if err := c.do(ctx, http.MethodGet, p, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PayoutPDF returns the payout's confirmation PDF, decoded from the base64
// MassPay sends (PATCH /{user_token}/{payout_token}).
func (c *Client) PayoutPDF(ctx context.Context, userToken, payoutToken string) ([]byte, error) {
	p, err := payoutPath(userToken, payoutToken)
	if err != nil {
		return nil, err
	}
	var out PDFConfirmation
	if err := c.do(ctx, http.MethodPatch, p, nil, "", nil, &out); err != nil {
		return nil, err
	}
	pdf, err := decodeBase64(out.Content)
	if err != nil {
		return nil, fmt.Errorf("masspay: payout PDF %s: decode content: %w", payoutToken, err)
	}
	return pdf, nil
}

// decodeBase64 accepts standard base64 with or without padding and line
// breaks, as different MassPay SDK models show it.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' {
			return -1
		}
		return r
	}, s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

func payoutPath(userToken, payoutToken string) (string, error) {
	var t tokens
	p := pathOf(t.seg("user token", userToken), t.seg("payout token", payoutToken))
	return p, t.err
}
