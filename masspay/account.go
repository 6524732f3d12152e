package masspay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// statementDate is the date layout of the statement and history queries.
const statementDate = "2006-01-02"

// Balances returns the client account's balance per currency
// (GET /account/balance). Each entry's Token is the source_token to pay from.
func (c *Client) Balances(ctx context.Context) ([]AvailableBalance, error) {
	var out []AvailableBalance
	if err := c.do(ctx, http.MethodGet, "/account/balance", nil, "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Statement returns the certified account statement between start and end,
// inclusive, as a PDF (GET /account/statement?start_date&ending_date, SDK
// getAccountStatement: {content}, the PDF in base64). MassPay allows at most
// 31 days per call.
func (c *Client) Statement(ctx context.Context, start, end time.Time) ([]byte, error) {
	q := url.Values{}
	q.Set("start_date", start.Format(statementDate))
	q.Set("ending_date", end.Format(statementDate))
	var out PDFConfirmation
	if err := c.do(ctx, http.MethodGet, "/account/statement", q, "", nil, &out); err != nil {
		return nil, err
	}
	pdf, err := decodeBase64(out.Content)
	if err != nil {
		return nil, fmt.Errorf("masspay: account statement: decode content: %w", err)
	}
	return pdf, nil
}

// TaxBalances returns the users whose paid total in tax year year reaches
// threshold (GET /tax). A nil threshold and a zero year leave the choice to
// MassPay (its default year is the last one).
func (c *Client) TaxBalances(ctx context.Context, threshold *decimal.Decimal, year int) ([]TaxYearUser, error) {
	q := url.Values{}
	if threshold != nil {
		q.Set("amount_threshold", threshold.String())
	}
	if year > 0 {
		q.Set("tax_year", strconv.Itoa(year))
	}
	var out []TaxYearUser
	if err := c.do(ctx, http.MethodGet, "/tax", q, "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}
