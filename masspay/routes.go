package masspay

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// BestRoutes returns the best routes to country cc, an ISO alpha-3 code
// (GET /country/{cc}/best). CountryServices.Routes flattens the answer.
// MassPay's guides use /best, but its SDK 2.0.0 does not define it: callers
// choosing a route use PreferredRoutes, which copes with a MassPay without it.
func (c *Client) BestRoutes(ctx context.Context, cc string, p RouteParams) (*CountryServices, error) {
	return c.routes(ctx, cc, "best", p)
}

// routeOrder is the order PreferredRoutes asks for routes in: /best (what
// MassPay's guides use), /cheapest (in SDK 2.0.0), then the full list
// /country/{cc}, which every version has.
var routeOrder = [...]string{"best", "cheapest", ""}

// PreferredRoutes returns the routes to country cc best first. It asks GET
// /country/{cc}/best; where that answers 404 or 405 it asks /cheapest, and
// where that does too, the full list /country/{cc} (in MassPay's order).
// A path that answered 404 or 405 while a later one answered is missing at
// this MassPay, not the country or the payee: the client remembers it, logs
// it once at warn level, and goes straight to the next path from then on,
// so a run of thousands of rows pays one extra request, not one per row.
// When every path answers 404 or 405, the full list's error is returned.
func (c *Client) PreferredRoutes(ctx context.Context, cc string, p RouteParams) (*CountryServices, error) {
	var missed []int
	for i, which := range routeOrder {
		last := i == len(routeOrder)-1
		if !last && c.routeMissing[i].Load() {
			continue
		}
		cs, err := c.routes(ctx, cc, which, p)
		if err == nil {
			for _, m := range missed {
				c.markRouteMissing(m, i)
			}
			return cs, nil
		}
		status, gone := pathGone(err)
		if last || !gone {
			return nil, err
		}
		missed = append(missed, i)
		c.log.Debug().Str("path", routePattern(i)).Int("status", status).Str("next", routePattern(i+1)).
			Msg("masspay: route path refused; trying the next")
	}
	panic("unreachable: the last route path always returns")
}

// markRouteMissing records that routeOrder[i] is missing at this MassPay,
// logging it the first time only (the workers of a run race to find out).
func (c *Client) markRouteMissing(i, using int) {
	if c.routeMissing[i].CompareAndSwap(false, true) {
		c.log.Warn().Str("missing", "GET "+routePattern(i)).Str("using", "GET "+routePattern(using)).
			Msg("masspay: MassPay answered 404/405 to " + routePattern(i) + "; choosing routes with " +
				routePattern(using) + " from now on")
	}
}

// routePattern names routeOrder[i] as a path pattern for logs.
func routePattern(i int) string {
	if routeOrder[i] == "" {
		return "/country/{cc}"
	}
	return "/country/{cc}/" + routeOrder[i]
}

// pathGone reports whether err is a 404 or 405 answer, which is what a
// MassPay without the path gives, and its status.
func pathGone(err error) (int, bool) {
	var ae *APIError
	if errors.As(err, &ae) && (ae.StatusCode == http.StatusNotFound || ae.StatusCode == http.StatusMethodNotAllowed) {
		return ae.StatusCode, true
	}
	return 0, false
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
