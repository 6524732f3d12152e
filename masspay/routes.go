package masspay

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// BestRoutes returns the best routes to country cc, an ISO alpha-3 code
// (GET /country/{cc}/best). CountryServices.Routes flattens the answer.
func (c *Client) BestRoutes(ctx context.Context, cc string, p RouteParams) (*CountryServices, error) {
	return c.routes(ctx, cc, "best", p)
}

// CheapestRoutes returns the cheapest routes to country cc
// (GET /country/{cc}/cheapest).
func (c *Client) CheapestRoutes(ctx context.Context, cc string, p RouteParams) (*CountryServices, error) {
	return c.routes(ctx, cc, "cheapest", p)
}

// CountryRoutes returns every route to country cc (GET /country/{cc}).
func (c *Client) CountryRoutes(ctx context.Context, cc string, p RouteParams) (*CountryServices, error) {
	return c.routes(ctx, cc, "", p)
}

func (c *Client) routes(ctx context.Context, cc, which string, rp RouteParams) (*CountryServices, error) {
	var t tokens
	parts := []string{"country", t.seg("country code", cc)}
	if which != "" {
		parts = append(parts, which)
	}
	if t.err != nil {
		return nil, t.err
	}
	var out CountryServices
	if err := c.do(ctx, http.MethodGet, pathOf(parts...), rp.values(), "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// values renders the set parameters as a query.
func (rp RouteParams) values() url.Values {
	q := url.Values{}
	if rp.Amount != nil {
		q.Set("amount", rp.Amount.String())
	}
	if rp.SourceCurrency != "" {
		q.Set("source_currency", rp.SourceCurrency)
	}
	if rp.DestinationCurrency != "" {
		q.Set("destination_currency", rp.DestinationCurrency)
	}
	if len(rp.PayerNames) > 0 {
		q.Set("payer_name", strings.Join(rp.PayerNames, "|"))
	}
	if rp.OnlyGenericPayers {
		q.Set("only_generic_payers", "true")
	}
	if rp.UserToken != "" {
		q.Set("user_token", rp.UserToken)
	}
	if rp.WalletToken != "" {
		q.Set("wallet_token", rp.WalletToken)
	}
	if rp.Limit > 0 {
		q.Set("limit", strconv.Itoa(rp.Limit))
	}
	return q
}

// Countries returns the countries MassPay pays to (GET /country/list).
func (c *Client) Countries(ctx context.Context) ([]Country, error) {
	var out []Country
	if err := c.do(ctx, http.MethodGet, "/country/list", nil, "", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Service returns the service behind one destination token, with its payers
// (GET /service/{destination_token}).
func (c *Client) Service(ctx context.Context, destinationToken string) (*Service, error) {
	var t tokens
	p := pathOf("service", t.seg("destination token", destinationToken))
	if t.err != nil {
		return nil, t.err
	}
	var out Service
	if err := c.do(ctx, http.MethodGet, p, nil, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
